import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { parseConfig } from '@turnpike/config';
import { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, echoHandler, startUpstream, testPrefix, type Upstream } from '@turnpike/testing';
import { addressText } from '../src/http/peerAddress.js';

describe('the text of a peer address', () => {
  it('writes IPv4 dotted, and an IPv4-mapped IPv6 address as the IPv4 address it is', () => {
    expect(addressText(Uint8Array.from([127, 0, 0, 1]))).toBe('127.0.0.1');
    expect(addressText(Uint8Array.from([10, 200, 0, 255]))).toBe('10.200.0.255');
    expect(addressText(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 192, 168, 1, 20]))).toBe('192.168.1.20');
    // Same text object on the next request of the same peer, however many peers came between.
    expect(addressText(Uint8Array.from([127, 0, 0, 1]))).toBe('127.0.0.1');
  });

  it('writes IPv6 in RFC 5952 form', () => {
    const v6 = (hex: string) => addressText(Uint8Array.from(Buffer.from(hex, 'hex')));
    expect(v6('00000000000000000000000000000001')).toBe('::1');
    expect(v6('00000000000000000000000000000000')).toBe('::');
    expect(v6('20010db8000000000000000000000001')).toBe('2001:db8::1');
    // The longest zero run is compressed, the first of two equal ones; a single zero group never is.
    expect(v6('20010db8000000000001000000000001')).toBe('2001:db8::1:0:0:1');
    expect(v6('20010db800000001000000000000abcd')).toBe('2001:db8:0:1::abcd');
    expect(v6('20010db8000000010001000100010001')).toBe('2001:db8:0:1:1:1:1:1');
    // Not mapped: ::ffff:0:0/96 only with zeros before it.
    expect(v6('00010000000000000000ffff7f000001')).toBe('1::ffff:7f00:1');
  });

  it('agrees with the WHATWG URL serializer (which follows RFC 5952) on random addresses', () => {
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(16);
      // Zero groups in random places, so that runs of every length occur.
      for (let g = 0; g < 8; g++) if (Math.random() < 0.5) b.writeUInt16BE(0, g * 2);
      if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) continue;
      const groups = Array.from({ length: 8 }, (_, g) => b.readUInt16BE(g * 2).toString(16)).join(':');
      expect(addressText(Uint8Array.from(b))).toBe(new URL(`http://[${groups}]/`).hostname.slice(1, -1));
    }
  });

  it('is empty for a length no address has', () => {
    expect(addressText(new Uint8Array(0))).toBe('');
    expect(addressText(new Uint8Array(6))).toBe('');
  });
});

describe('the client address on a dual-stack listener', () => {
  let echo: Upstream;
  let edge: Edge;

  beforeAll(async () => {
    echo = await startUpstream(echoHandler);
    edge = await new Edge({
      config: parseConfig(`
apis:
  - name: echo
    routes:
      ANY /{proxy+}: { integration: { type: http_proxy, uri: "${echo.url}/{proxy}" } }
`, 'test.yaml'),
      port: 0,
      host: '::',
      managementPort: -1,
      redisUrl: SHARED_REDIS_URL,
      keyPrefix: testPrefix('peer'),
      logger: pino({ level: 'silent' }),
    }).start();
  });

  afterAll(async () => {
    await edge?.stop();
    await echo?.close();
  });

  const forwardedFor = (host: string) =>
    new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host, port: edge.port, path: '/who', agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve((JSON.parse(body) as { headers: Record<string, string> }).headers['x-forwarded-for']!));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });

  it('names an IPv4 client by its IPv4 address and an IPv6 client in RFC 5952 form', async () => {
    expect(await forwardedFor('127.0.0.1')).toBe('127.0.0.1');
    expect(await forwardedFor('::1')).toBe('::1');
  });
});
