import { describe, expect, it } from 'vitest';
import { clientAddress } from '../src/http/forwarded.js';
import { titleCaseHeader } from '../src/http/headerCase.js';

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
