import type { HttpResponse, WebSocket } from 'uWebSockets.js';

/**
 * The text of a socket peer's address (`identity.sourceIp`, X-Forwarded-For), formatted from uWS's
 * binary form: an IPv4 address dotted, an IPv4-mapped IPv6 address (an IPv4 client of a `::` listener)
 * as the IPv4 address it is, any other IPv6 address in RFC 5952's canonical form.
 *
 * Why not uWS's `getRemoteAddressAsText`: it writes IPv6 uncompressed with every zero
 * (`0000:0000:0000:0000:0000:ffff:7f00:0001` for 127.0.0.1 on a dual-stack listener), a form no
 * policy, log reader or upstream expects; and turning its ArrayBuffer into a string cost ~0.3 µs more
 * per request than the binary form and a lookup here.
 */

/** IPv4 texts by address: a peer keeps its address for every request of its keep-alive connection. */
const V4 = new Map<number, string>();
const MAX_V4 = 4096;

export function peerAddress(res: HttpResponse | WebSocket<unknown>): string {
  return addressText(new Uint8Array(res.getRemoteAddress()));
}

/** `b`: 4 bytes (IPv4) or 16 (IPv6), network order; anything else is an empty text. */
export function addressText(b: Uint8Array): string {
  if (b.length === 4) return v4(b, 0);
  if (b.length !== 16) return '';
  if (b[10] === 0xff && b[11] === 0xff && isZero(b, 0, 10)) return v4(b, 12);
  return v6(b);
}

function v4(b: Uint8Array, at: number): string {
  const b0 = b[at]!;
  const b1 = b[at + 1]!;
  const b2 = b[at + 2]!;
  const b3 = b[at + 3]!;
  const key = b0 * 16777216 + ((b1 << 16) | (b2 << 8) | b3);
  let text = V4.get(key);
  if (text === undefined) {
    text = `${b0}.${b1}.${b2}.${b3}`;
    // Clients past the bound are formatted each time; the map is started over rather than grown.
    if (V4.size >= MAX_V4) V4.clear();
    V4.set(key, text);
  }
  return text;
}

function isZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/** RFC 5952: lowercase hex without leading zeros, the longest run of two or more zero groups (the first of equals) as `::`. */
function v6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  return bestAt < 0 ? hex(0, 8) : `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}
