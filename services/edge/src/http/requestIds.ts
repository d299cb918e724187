/**
 * Forms of a request id (a UUID, `8-4-4-4-12` hex digits) that responses and upstream requests carry,
 * computed from its characters without a regex or a Buffer: every response writes one of them.
 */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Offsets in a UUID string of its first 11 bytes' hex digit pairs (the dashes skipped). */
const BYTE_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24];

function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : (c | 32) - 87;
}

function byteAt(id: string, i: number): number {
  const at = BYTE_AT[i] ?? 0; // i < 11 at every call
  return (hexDigit(id.charCodeAt(at)) << 4) | hexDigit(id.charCodeAt(at + 1));
}

/** AWS's `extendedRequestId` (`x-amz-apigw-id`): the id's first 11 bytes in base64, `Mzx1SGq8IAMF5Ag=`. */
export function extendedRequestId(requestId: string): string {
  let out = '';
  for (let i = 0; i < 9; i += 3) {
    const n = (byteAt(requestId, i) << 16) | (byteAt(requestId, i + 1) << 8) | byteAt(requestId, i + 2);
    out += B64.charAt(n >> 18) + B64.charAt((n >> 12) & 63) + B64.charAt((n >> 6) & 63) + B64.charAt(n & 63);
  }
  const n = (byteAt(requestId, 9) << 16) | (byteAt(requestId, 10) << 8);
  return out + B64.charAt(n >> 18) + B64.charAt((n >> 12) & 63) + B64.charAt((n >> 6) & 63) + '=';
}

/** The id's last 24 hex digits (the dashes dropped): the random part of a new X-Amzn-Trace-Id Root. */
export function traceIdDigits(requestId: string): string {
  return requestId.slice(9, 13) + requestId.slice(14, 18) + requestId.slice(19, 23) + requestId.slice(24);
}
