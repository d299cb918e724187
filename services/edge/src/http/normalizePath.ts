/**
 * Request path normalization. Routing sees decoded segments, and the upstream gets a path rebuilt from
 * exactly those segments, so a request can never reach a route it would not match after normalization.
 *
 * The rules (README "Path normalization"):
 * - empty segments are dropped: `//a///b/` is `/a/b` (a trailing slash is not significant);
 * - literal `.` segments are dropped and `..` removes the previous segment (RFC 3986 dot-segment
 *   removal); a `..` that would climb above the root is refused (400);
 * - traversal-shaped segments are refused (400) rather than passed to an upstream that may resolve them
 *   its own way: percent-encoded dots (`%2e%2e`, `.%2e`, `%2e`), and a `..` piece delimited by `/`, `\`
 *   or `;` inside one segment (`..;`, `..%2F`, `..%5C`, `a%2F..`), which Tomcat, IIS or a decoding
 *   upstream would read as a parent directory;
 * - `%2F` (and `%5C`) decode into the segment's value and are never separators: `/a%2Fb` is one segment
 *   `a/b`, which a `{param}` can match, a literal route `/a/b` does not, and the upstream receives as
 *   `/a%2Fb`;
 * - invalid percent-encoding (`%`, `%4`, `%zz`, or bytes that are not UTF-8) and encoded control
 *   characters (`%00`-`%1F`, `%7F`) are refused (400).
 */

export type NormalizedPath = { segments: string[]; path: string } | { error: string };

const PCHAR_UNENCODED = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]*$/;

export function normalizePath(raw: string): NormalizedPath {
  if (raw.charCodeAt(0) !== 47 /* / */) return { error: 'request target must be an absolute path' };
  return fastPath(raw) ?? slowPath(raw);
}

/** pchar (RFC 3986) minus `%`: characters a segment may hold as they are. */
const PLAIN = new Uint8Array(128);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@") PLAIN[ch.charCodeAt(0)] = 1;

/**
 * One pass over the common case: nothing to decode, no empty or dot segments. Returns null as soon as
 * anything needs the full treatment.
 */
function fastPath(raw: string): NormalizedPath | null {
  const len = raw.length;
  let end = len;
  if (len > 1 && raw.charCodeAt(len - 1) === 47) end = len - 1;
  const segments: string[] = [];
  let start = 1;
  for (let i = 1; i <= end; i++) {
    const c = i < end ? raw.charCodeAt(i) : 47;
    if (c === 47) {
      if (i === start) return end === 1 ? { segments, path: '/' } : null;
      if (raw.charCodeAt(start) === 46 && (i - start === 1 || (i - start === 2 && raw.charCodeAt(start + 1) === 46))) return null;
      segments.push(raw.slice(start, i));
      start = i + 1;
    } else if (c > 127 || PLAIN[c] === 0 || c === 59 /* ; (path parameters: `..;`) */) {
      return null;
    }
  }
  return { segments, path: end === len ? raw : raw.slice(0, end) };
}

function slowPath(raw: string): NormalizedPath {
  const segments: string[] = [];
  const parts = raw.split('/');
  // parts[0] is what precedes the leading '/' (empty), and so is skipped like every empty part.
  for (const part of parts) {
    if (part === '') continue;
    let seg = part;
    if (part.indexOf('%') >= 0) {
      if (!/^(?:[^%]|%[0-9A-Fa-f]{2})*$/.test(part)) return { error: 'invalid percent-encoding in path' };
      try {
        seg = decodeURIComponent(part);
      } catch {
        return { error: 'invalid percent-encoding in path (not UTF-8)' };
      }
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(seg)) return { error: 'control characters are not allowed in the path' };
      if (seg === '.' || seg === '..') return { error: 'percent-encoded dot segment in path' };
    }
    if (seg !== '..' && hasParentPiece(seg)) return { error: 'traversal-shaped segment in path' };
    if (seg === '.') continue;
    if (seg === '..') {
      if (segments.length === 0) return { error: 'path climbs above the root' };
      segments.pop();
      continue;
    }
    segments.push(seg);
  }
  let path = '';
  for (const s of segments) path += '/' + encodeSegment(s);
  return { segments, path: path || '/' };
}

/** True when `seg` holds `..` delimited by its ends, `/`, `\` or `;`. */
function hasParentPiece(seg: string): boolean {
  for (let i = seg.indexOf('..'); i >= 0; i = seg.indexOf('..', i + 1)) {
    if ((i === 0 || isDelimiter(seg.charCodeAt(i - 1))) && (i + 2 === seg.length || isDelimiter(seg.charCodeAt(i + 2)))) return true;
  }
  return false;
}

function isDelimiter(c: number): boolean {
  return c === 47 /* / */ || c === 92 /* \ */ || c === 59 /* ; */;
}

/** Percent-encodes one decoded segment canonically: pchar stays, everything else (including `/`) is encoded. */
export function encodeSegment(s: string): string {
  if (PCHAR_UNENCODED.test(s)) return s;
  let out = '';
  for (const ch of s) out += PCHAR_UNENCODED.test(ch) ? ch : encodeURIComponent(ch);
  return out;
}
