/**
 * Header names as REST APIs hand them to functions and authorizers. API Gateway REST keeps the case the
 * client sent (`Authorization`, `Content-Type`); uWebSockets.js lowercases names while parsing and keeps
 * no copy of the original bytes, so the closest faithful answer is the canonical Title-Case every
 * HTTP/1.1 client library writes: `content-type` → `Content-Type`, with the usual acronyms kept
 * (`DNT`, `TE`, `Content-MD5`, `Sec-WebSocket-Key`, `WWW-Authenticate`). Payload 2.0 (HTTP APIs)
 * stays lowercase, as AWS sends it.
 */

/** Whole names and name parts that are not plain capitalised words. */
const WHOLE: Readonly<Record<string, string>> = { dnt: 'DNT', te: 'TE', etag: 'ETag' };
const PARTS: Readonly<Record<string, string>> = { md5: 'MD5', websocket: 'WebSocket', www: 'WWW', id: 'Id', ua: 'UA', ip: 'IP', xss: 'XSS', http2: 'HTTP2' };

/** Names seen so far; a request carries the same few dozen names, so this stays small. Cleared when full. */
const seen = new Map<string, string>();
const MAX_SEEN = 2048;

export function titleCaseHeader(lower: string): string {
  let name = seen.get(lower);
  if (name !== undefined) return name;
  name = WHOLE[lower] ?? lower.split('-').map((p) => PARTS[p] ?? p.charAt(0).toUpperCase() + p.slice(1)).join('-');
  if (seen.size >= MAX_SEEN) seen.clear();
  seen.set(lower, name);
  return name;
}
