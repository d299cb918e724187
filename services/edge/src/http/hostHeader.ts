/**
 * The `Host` header (RFC 9110 §7.2): `uri-host [":" port]`, where the host is a DNS-style name, an IPv4
 * address or a bracketed IPv6 literal. Anything else (a path, a userinfo `@`, spaces, two Host headers
 * joined by a comma) is refused with 400 before it can select an API or reach an upstream as
 * `X-Forwarded-Host`.
 */

/** Characters a host name (or IPv4 address) may hold: letters, digits, `-`, `.`, `_`, `~`. */
const NAME = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') NAME[ch.charCodeAt(0)] = 1;
/** Inside `[...]`: hex digits, `:` and `.` (an IPv4-mapped tail). */
const IPV6 = new Uint8Array(128);
for (const ch of '0123456789abcdefABCDEF:.') IPV6[ch.charCodeAt(0)] = 1;

const MAX_HOST = 255 + 6;

/** The host without its port, lowercased; '' for an absent or empty header; null when it is not a valid Host. */
export function hostOf(value: string | undefined): string | null {
  if (value === undefined || value === '') return '';
  const len = value.length;
  if (len > MAX_HOST) return null;
  let end: number;
  if (value.charCodeAt(0) === 91 /* [ */) {
    end = value.indexOf(']');
    if (end < 3) return null;
    for (let i = 1; i < end; i++) {
      const c = value.charCodeAt(i);
      if (c > 127 || IPV6[c] === 0) return null;
    }
    end++;
  } else {
    end = 0;
    while (end < len) {
      const c = value.charCodeAt(end);
      if (c === 58 /* : */) break;
      if (c > 127 || NAME[c] === 0) return null;
      end++;
    }
    if (end === 0) return null;
  }
  if (end < len) {
    // `:` then 1 to 5 digits, at most 65535.
    if (value.charCodeAt(end) !== 58 || len - end - 1 < 1 || len - end - 1 > 5) return null;
    let port = 0;
    for (let i = end + 1; i < len; i++) {
      const d = value.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return null;
      port = port * 10 + d;
    }
    if (port > 65535) return null;
  }
  const host = value.slice(0, end);
  return host.toLowerCase();
}
