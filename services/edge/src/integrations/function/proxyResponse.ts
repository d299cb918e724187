import { isObj, type Obj } from '@turnpike/codec';
import { HOP_BY_HOP } from '../../http/hopByHop.js';

/**
 * API Gateway's reading of a Lambda proxy result. A result it cannot read is `null`: the caller answers
 * 502 as API Gateway does ("Malformed Lambda proxy response").
 */
export interface MappedResponse {
  readonly status: number;
  /** Flat name/value list. */
  readonly headers: string[];
  readonly body: string | Buffer;
}


/**
 * Payload format 1.0: the result must be `{statusCode, headers?, multiValueHeaders?, body?, isBase64Encoded?}`.
 * `decodeBase64`: whether an `isBase64Encoded` body goes out as bytes (REST APIs: only when the request's
 * first Accept type is a binary media type; otherwise the base64 text is the body, as on AWS).
 */
export function mapResponseV1(result: unknown, decodeBase64: boolean): MappedResponse | string {
  if (!isObj(result)) return 'the result is not an object';
  return mapStructured(result, false, decodeBase64);
}

/**
 * Payload format 2.0: a result with `statusCode` is read like 1.0 plus `cookies`; anything else is a 200
 * `application/json` response: a string is the body as it is (`"hello"` answers `hello`), any other
 * value (an object without `statusCode`, a number) its JSON text.
 */
export function mapResponseV2(result: unknown, decodeBase64: boolean): MappedResponse | string {
  if (isObj(result) && 'statusCode' in result) return mapStructured(result, true, decodeBase64);
  const body = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
  return { status: 200, headers: ['content-type', 'application/json'], body };
}

function mapStructured(r: Obj, v2: boolean, decodeBase64: boolean): MappedResponse | string {
  const status = typeof r.statusCode === 'string' && /^\d{3}$/.test(r.statusCode) ? Number(r.statusCode) : r.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return `statusCode ${JSON.stringify(r.statusCode)} is not an HTTP status`;
  const headers: string[] = [];
  let hasType = false;
  const add = (name: string, value: unknown): string | null => {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return `header ${name} has a ${value === null ? 'null' : typeof value} value`;
    const lower = name.toLowerCase();
    // uWS frames the body itself; connection-level headers from a function would corrupt the response.
    if (HOP_BY_HOP.has(lower) || lower === 'content-length') return null;
    if (lower === 'content-type') hasType = true;
    headers.push(name, String(value));
    return null;
  };
  // When a header is in both, only the multiValueHeaders values are sent (API Gateway's rule).
  const multi = r.multiValueHeaders;
  const multiNames = new Set<string>();
  if (multi !== undefined && multi !== null && !v2) {
    if (!isObj(multi)) return 'multiValueHeaders is not an object';
    for (const [name, values] of Object.entries(multi)) {
      if (!Array.isArray(values)) return `multiValueHeaders.${name} is not an array`;
      multiNames.add(name.toLowerCase());
      for (const v of values) {
        const bad = add(name, v);
        if (bad) return bad;
      }
    }
  }
  const single = r.headers;
  if (single !== undefined && single !== null) {
    if (!isObj(single)) return 'headers is not an object';
    for (const [name, value] of Object.entries(single)) {
      if (multiNames.has(name.toLowerCase())) continue;
      const bad = add(name, value);
      if (bad) return bad;
    }
  }
  if (v2 && r.cookies !== undefined && r.cookies !== null) {
    if (!Array.isArray(r.cookies) || r.cookies.some((c) => typeof c !== 'string')) return 'cookies is not an array of strings';
    for (const c of r.cookies as string[]) headers.push('set-cookie', c);
  }
  const body = r.body;
  if (body !== undefined && body !== null && typeof body !== 'string') return `body is a ${typeof body}, not a string`;
  if (r.isBase64Encoded !== undefined && r.isBase64Encoded !== null && typeof r.isBase64Encoded !== 'boolean') return 'isBase64Encoded is not a boolean';
  if (!hasType) headers.push('content-type', 'application/json');
  const text = body ?? '';
  return { status, headers, body: r.isBase64Encoded === true && decodeBase64 ? Buffer.from(text, 'base64') : text };
}
