import { describe, expect, it } from 'vitest';
import { clientAddress } from '../src/http/forwarded.js';
import { titleCaseHeader } from '../src/http/headerCase.js';
import { randomUUID } from 'node:crypto';
import { extendedRequestId, newRequestId, traceIdDigits } from '../src/http/requestIds.js';

describe('the client address with gateway.trustedProxyHops', () => {
  it('believes only the socket peer by default, whatever X-Forwarded-For says', () => {
    expect(clientAddress('10.0.0.7', '6.6.6.6', 0)).toBe('10.0.0.7');
  });

  it('takes the entry the outermost trusted proxy appended', () => {
    // Client 1.2.3.4 (which forged 6.6.6.6) → load balancer 10.0.0.7 → edge.
    expect(clientAddress('10.0.0.7', '6.6.6.6, 1.2.3.4', 1)).toBe('1.2.3.4');
    // Two proxies: the CDN appended 1.2.3.4, the load balancer 172.16.0.1.
    expect(clientAddress('10.0.0.7', '6.6.6.6, 1.2.3.4, 172.16.0.1', 2)).toBe('1.2.3.4');
  });

  it('falls back to the peer when the header is shorter than the trusted hops or absent', () => {
    expect(clientAddress('10.0.0.7', undefined, 1)).toBe('10.0.0.7');
    expect(clientAddress('10.0.0.7', '1.2.3.4', 2)).toBe('10.0.0.7');
  });
});

describe('REST header names', () => {
  it.each([
    ['authorization', 'Authorization'],
    ['content-type', 'Content-Type'],
    ['x-forwarded-for', 'X-Forwarded-For'],
    ['sec-websocket-key', 'Sec-WebSocket-Key'],
    ['content-md5', 'Content-MD5'],
    ['dnt', 'DNT'],
    ['www-authenticate', 'WWW-Authenticate'],
  ])('%s → %s', (lower, title) => {
    expect(titleCaseHeader(lower)).toBe(title);
  });
});

describe('forms of a request id', () => {
  it('are the id\'s first 11 bytes in base64 and its last 24 hex digits, for any id', () => {
    const ids = ['00000000-0000-4000-8000-000000000000', 'ffffffff-ffff-4fff-bfff-ffffffffffff', 'ABCDEF01-2345-4789-ABCD-EF0123456789', ...Array.from({ length: 200 }, () => randomUUID())];
    for (const id of ids) {
      const hex = id.replace(/-/g, '');
      expect(extendedRequestId(id)).toBe(Buffer.from(hex.slice(0, 22), 'hex').toString('base64'));
      expect(traceIdDigits(id)).toBe(hex.slice(8));
    }
  });

  it('are made for random version 4 UUIDs, never the same twice', () => {
    // Past the 256 ids of one pool of random bytes, several times.
    const ids = Array.from({ length: 5000 }, () => newRequestId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // Every hex digit turns up in every random position (a stuck nibble would not).
    for (const at of [0, 7, 14, 15, 20, 35]) expect(new Set(ids.map((id) => id[at])).size).toBe(at === 14 ? 1 : at === 19 ? 4 : 16);
  });
});
