/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and must not be forwarded; neither may any
 * header a `Connection` header names. `host` is replaced by the upstream's, and `content-length`/
 * `transfer-encoding` are recomputed by whichever side writes the body.
 */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // uWS answers `Expect: 100-continue` itself before the body is read; the upstream gets the whole body,
  // so the expectation is already met (and undici refuses to send it).
  'expect',
]);

/** Names listed in a Connection header value, lowercased; empty when there are none. */
export function connectionTokens(value: string | undefined): Set<string> | null {
  if (!value) return null;
  const out = new Set<string>();
  for (const t of value.split(',')) {
    const n = t.trim().toLowerCase();
    if (n && n !== 'close' && n !== 'keep-alive') out.add(n);
  }
  return out.size ? out : null;
}
