import { randomBytes, createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '@turnpike/edge';
import { echoHandler, freePort, startUpstream, type Upstream } from '@turnpike/testing';
import { json, rawRequest, startEdge } from './fixtures.js';

let echo: Upstream;
let special: Upstream;
let edge: Edge;
let deadPort: number;
/** Requests the `special` upstream saw aborted by the gateway (timeouts, client disconnects). */
const upstreamAborts: string[] = [];
const upstreamArrivals: string[] = [];
let arrival: ((url: string) => void) | null = null;

beforeAll(async () => {
  echo = await startUpstream(echoHandler);
  special = await startUpstream((req, res) => {
    upstreamArrivals.push(req.url!);
    arrival?.(req.url!);
    req.on('close', () => {
      if (!res.writableEnded) upstreamAborts.push(req.url!);
    });
    if (req.url!.startsWith('/hang')) return; // never answers
    if (req.url === '/reset') return req.socket.destroy();
    if (req.url === '/hop') {
      res.setHeader('connection', 'keep-alive, x-conn-listed');
      res.setHeader('x-conn-listed', 'must go');
      res.setHeader('keep-alive', 'timeout=5');
      res.setHeader('x-kept', 'yes');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      return res.end('hop');
    }
    if (req.url === '/no-content') {
      res.statusCode = 204;
      return res.end();
    }
    if (req.url === '/chunked') {
      res.write('part1-');
      setImmediate(() => res.end('part2'));
      return;
    }
    res.statusCode = 418;
    res.end('teapot');
  });
  deadPort = await freePort();
  edge = await startEdge(`
gateway:
  maxBodyBytes: 4194304
apis:
  - name: shop
    basePath: /shop
    stages:
      prod: { variables: { up: "${echo.url}" } }
      $default: { variables: { up: "${echo.url}" } }
    routes:
      ANY /{proxy+}: { integration: { type: http_proxy, uri: "\${stageVariables.up}/any/{proxy}" } }
      GET /items/{id}: { integration: { type: http_proxy, uri: "\${stageVariables.up}/items/{id}?fixed=1" } }
      GET /items/special: { integration: { type: http_proxy, uri: "\${stageVariables.up}/literal" } }
      POST /items: { integration: { type: http_proxy, uri: "\${stageVariables.up}/create", requestHeaders: { X-Stage: "\${context.stage}", X-Static: fixed } } }
      GET /files/{name}: { integration: { type: http_proxy, uri: "\${stageVariables.up}/files/{name}" } }
      GET /files/a/b: { integration: { type: mock, body: '{"literal":true}' } }
      GET /health: { integration: { type: mock, statusCode: 200, headers: { X-Mock: "1" }, body: '{"ok":true}' } }
  - name: strict
    basePath: /strict
    routes:
      GET /only: { integration: { type: mock } }
      POST /only: { integration: { type: mock } }
  - name: special
    hosts: [special.test]
    routes:
      ANY /{proxy+}: { integration: { type: http_proxy, uri: "${special.url}/{proxy}", timeoutMs: 400 } }
      GET /dead: { integration: { type: http_proxy, uri: "http://127.0.0.1:${deadPort}/x" } }
`);
});

afterAll(async () => {
  await edge?.stop(1000);
  await echo?.close();
  await special?.close();
});

const get = (path: string, headers: Record<string, string> = {}, host?: string) => rawRequest(edge.port, { path, headers, host });

describe('routing through the edge', () => {
  it('serves stages under the base path, and $default without a prefix', async () => {
    const prod = json(await get('/shop/prod/items/42'));
    expect(prod.url).toBe('/items/42?fixed=1');
    const dflt = json(await get('/shop/items/43'));
    expect(dflt.url).toBe('/items/43?fixed=1');
  });

  it('picks the most specific route', async () => {
    expect(json(await get('/shop/prod/items/special')).url).toBe('/literal');
    expect(json(await get('/shop/prod/items/7')).url).toBe('/items/7?fixed=1');
    expect(json(await get('/shop/prod/other/deep/path')).url).toBe('/any/other/deep/path');
  });

  it('selects APIs by host', async () => {
    const r = await get('/whatever', {}, 'special.test:1234');
    expect(r.status).toBe(418);
    expect((await get('/whatever')).status).toBe(404);
  });

  it('answers 404 and 405 with Allow as JSON', async () => {
    const nf = await get('/nothing-here');
    expect(nf.status).toBe(404);
    expect(json(nf)).toEqual({ message: 'Not Found' });
    expect(nf.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    const na = await rawRequest(edge.port, { method: 'DELETE', path: '/strict/only' });
    expect(na.status).toBe(405);
    expect(na.headers.allow).toBe('GET, POST, HEAD');
    expect(json(na)).toEqual({ message: 'Method Not Allowed' });
  });

  it('normalizes paths before matching and sends the normalized path upstream', async () => {
    expect(json(await get('/shop//prod/./x/../items/9/')).url).toBe('/items/9?fixed=1');
    // Encoded dots are traversal-shaped: refused, never resolved or forwarded (docs/edge.md).
    expect((await get('/shop/prod/items/%2e%2e/items/10')).status).toBe(400);
    const bad = await get('/shop/prod/items/%zz');
    expect(bad.status).toBe(400);
    expect(json(bad)).toEqual({ message: 'Bad Request' });
    expect((await get('/shop/../../etc/passwd')).status).toBe(400);
  });

  it('keeps an encoded slash inside its segment: it reaches {param}, never the literal route', async () => {
    const r = json(await get('/shop/prod/files/a%2Fb'));
    expect(r.url).toBe('/files/a%2Fb');
    expect(json(await get('/shop/prod/files/a/b'))).toEqual({ literal: true });
  });

  it('serves mock integrations', async () => {
    const r = await get('/shop/prod/health');
    expect(r.status).toBe(200);
    expect(r.headers['x-mock']).toBe('1');
    expect(json(r)).toEqual({ ok: true });
  });
});

describe('HTTP proxy passthrough', () => {
  it('forwards method, query, headers and a binary body byte for byte', async () => {
    const body = randomBytes(256 * 1024);
    const r = await rawRequest(edge.port, {
      method: 'PUT',
      path: '/shop/prod/upload/x?a=1&b=two&a=3',
      headers: { 'content-type': 'application/octet-stream', 'x-custom': 'v1', 'x-multi': ['1', '2'] as unknown as string },
      body,
    });
    const e = json(r);
    expect(e.method).toBe('PUT');
    expect(e.url).toBe('/any/upload/x?a=1&b=two&a=3');
    expect(e.headers['x-custom']).toBe('v1');
    expect(e.headers['x-multi']).toBe('1, 2');
    expect(e.headers['content-type']).toBe('application/octet-stream');
    expect(Buffer.from(e.body, 'base64').equals(body)).toBe(true);
  });

  it('streams a chunked upload through', async () => {
    const parts = Array.from({ length: 20 }, (_, i) => Buffer.alloc(10_000, i));
    const r = await rawRequest(edge.port, { method: 'POST', path: '/shop/prod/upload/chunked', headers: { 'transfer-encoding': 'chunked' }, body: parts });
    const e = json(r);
    expect(e.bodyLength).toBe(200_000);
    expect(Buffer.from(e.body, 'base64').equals(Buffer.concat(parts))).toBe(true);
  });

  it('adds X-Forwarded-* and the configured request headers, and drops hop-by-hop request headers', async () => {
    const r = await rawRequest(edge.port, {
      method: 'POST',
      path: '/shop/prod/items',
      headers: { connection: 'keep-alive, x-listed', 'x-listed': 'drop me', 'keep-alive': 'timeout=9', te: 'trailers', 'proxy-authorization': 'secret', 'x-forwarded-for': '10.0.0.1', 'content-length': '2' },
      body: '{}',
    });
    const h = json(r).headers;
    expect(h['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(`127.0.0.1:${edge.port}`);
    expect(h['x-stage']).toBe('prod');
    expect(h['x-static']).toBe('fixed');
    expect(h['x-listed']).toBeUndefined();
    expect(h['keep-alive']).toBeUndefined();
    expect(h.te).toBeUndefined();
    expect(h['proxy-authorization']).toBeUndefined();
    expect(h.host).toBe(echo.url.slice('http://'.length));
  });

  it('drops hop-by-hop response headers and keeps repeated ones', async () => {
    const r = await get('/hop', {}, 'special.test');
    expect(r.body.toString()).toBe('hop');
    expect(r.headers['x-kept']).toBe('yes');
    expect(r.headers['x-conn-listed']).toBeUndefined();
    expect(r.headers['keep-alive']).toBeUndefined();
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('passes upstream statuses through, with chunked bodies and empty 204s', async () => {
    const tea = await get('/teapot', {}, 'special.test');
    expect(tea.status).toBe(418);
    expect(tea.body.toString()).toBe('teapot');
    const ch = await get('/chunked', {}, 'special.test');
    expect(ch.body.toString()).toBe('part1-part2');
    const nc = await get('/no-content', {}, 'special.test');
    expect(nc.status).toBe(204);
    expect(nc.body.length).toBe(0);
  });

  it('answers HEAD with the upstream headers and no body', async () => {
    const r = await rawRequest(edge.port, { method: 'HEAD', path: '/shop/prod/anything' });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
    // Node's upstream declares no length for HEAD; neither may the edge (uWS writes a bogus
    // `content-length: 9223372036854775808` when handed an explicit undefined length).
    expect(r.headers['content-length']).toBeUndefined();
  });
});

describe('limits and upstream failures', () => {
  it('refuses a declared body over the limit with 413 before reading it', async () => {
    const r = await rawRequest(edge.port, { method: 'POST', path: '/shop/prod/items', headers: { 'content-length': String(5 * 1024 * 1024) }, body: 'x' });
    expect(r.status).toBe(413);
    expect(json(r)).toEqual({ message: 'Request Entity Too Large' });
  });

  it('refuses a chunked body that grows over the limit with 413', async () => {
    const parts = Array.from({ length: 6 }, () => Buffer.alloc(1024 * 1024, 1));
    const r = await rawRequest(edge.port, { method: 'POST', path: '/shop/prod/upload/big', headers: { 'transfer-encoding': 'chunked' }, body: parts }).catch((e: Error) => e);
    // The gateway answers 413 and closes; depending on timing the client may see the reset first.
    if (r instanceof Error) expect(r.message).toMatch(/ECONNRESET|EPIPE|socket hang up/);
    else expect(r.status).toBe(413);
  });

  it('answers 502 when the upstream refuses the connection or resets it', async () => {
    const refused = await get('/dead', {}, 'special.test');
    expect(refused.status).toBe(502);
    expect(json(refused)).toEqual({ message: 'Bad Gateway' });
    const reset = await get('/reset', {}, 'special.test');
    expect(reset.status).toBe(502);
  });

  it('answers 504 when the upstream is slower than the integration timeout, and aborts the upstream request', async () => {
    const r = await get('/hang-timeout', {}, 'special.test');
    expect(r.status).toBe(504);
    expect(json(r)).toEqual({ message: 'Endpoint request timed out' });
    await expect.poll(() => upstreamAborts.includes('/hang-timeout'), { timeout: 5000 }).toBe(true);
  });

  it('aborts the upstream request when the client disconnects', async () => {
    const arrived = new Promise<string>((resolve) => (arrival = (url) => url === '/hang-client' && resolve(url)));
    const req = httpRequest({ host: '127.0.0.1', port: edge.port, path: '/hang-client', headers: { host: 'special.test' }, agent: false });
    req.on('error', () => {});
    req.end();
    await arrived;
    req.destroy();
    await expect.poll(() => upstreamAborts.includes('/hang-client'), { timeout: 5000 }).toBe(true);
  });
});

describe('large bodies stream with backpressure', () => {
  it('streams a 50 MB upstream response to a paused reader without buffering it', async () => {
    const size = 50 * 1024 * 1024;
    let sent = 0;
    const big = await startUpstream((_req, res) => {
      res.setHeader('content-length', String(size));
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = () => {
        while (sent < size) {
          sent += chunk.length;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const local = await startEdge(`
apis:
  - name: big
    routes:
      GET /big: { integration: { type: http_proxy, uri: "${big.url}/big" } }
`);
    try {
      const hash = createHash('sha256');
      let received = 0;
      let inFlightWhilePaused = -1;
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: local.port, path: '/big', agent: false }, (res) => {
          expect(res.headers['content-length']).toBe(String(size));
          let paused = false;
          res.on('data', (c: Buffer) => {
            received += c.length;
            hash.update(c);
            if (!paused && received > 1024 * 1024) {
              paused = true;
              res.pause();
              // Once the upstream stops making progress, whatever it sent and we did not read is held
              // in socket buffers and the gateway: that must be bounded by socket buffers (loopback autotunes them to several MB each), not the whole 50 MB.
              void waitUntilStable(() => sent).then(() => {
                inFlightWhilePaused = sent - received;
                res.resume();
              });
            }
          });
          res.on('end', resolve);
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      expect(received).toBe(size);
      expect(hash.digest('hex')).toBe(createHash('sha256').update(Buffer.alloc(size, 7)).digest('hex'));
      expect(inFlightWhilePaused).toBeGreaterThan(0);
      expect(inFlightWhilePaused).toBeLessThan(25 * 1024 * 1024);
    } finally {
      await local.stop(1000);
      await big.close();
    }
  });

  it('streams a 50 MB upload to a slow upstream without buffering it', async () => {
    const size = 50 * 1024 * 1024;
    let upstreamReceived = 0;
    let sentByClient = 0;
    let maxAhead = 0;
    const sink = await startUpstream((req, res) => {
      req.on('data', (c: Buffer) => {
        upstreamReceived += c.length;
        maxAhead = Math.max(maxAhead, sentByClient - upstreamReceived);
        // A slow upstream: stop reading for a moment every 8 MB.
        if (upstreamReceived % (8 * 1024 * 1024) < c.length) {
          req.pause();
          setTimeout(() => req.resume(), 100);
        }
      });
      req.on('end', () => res.end(String(upstreamReceived)));
    });
    const local = await startEdge(`
gateway: { maxBodyBytes: 104857600 }
apis:
  - name: up
    routes:
      PUT /up: { integration: { type: http_proxy, uri: "${sink.url}/up" } }
`);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: local.port, method: 'PUT', path: '/up', headers: { 'content-length': String(size) }, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        const chunk = Buffer.alloc(256 * 1024, 3);
        const pump = () => {
          while (sentByClient < size) {
            sentByClient += chunk.length;
            if (!req.write(chunk)) return req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      expect(status).toBe(200);
      expect(upstreamReceived).toBe(size);
      expect(maxAhead).toBeLessThan(25 * 1024 * 1024);
    } finally {
      await local.stop(1000);
      await sink.close();
    }
  });
});

describe('request bodies are read before the upstream connection is taken', () => {
  it('sends a body over bodyBufferBytes whole (streamed past the bound), and a small chunked one from memory with its length', async () => {
    const local = await startEdge(`
gateway: { bodyBufferBytes: 1024 }
apis:
  - name: up
    routes:
      # A throttled route waits on Redis before the proxy stage: the body may be complete (streamed) by then.
      PUT /up: { throttle: { rateLimit: 1000, burstLimit: 1000 }, integration: { type: http_proxy, uri: "${echo.url}/up" } }
      PUT /small: { integration: { type: http_proxy, uri: "${echo.url}/small" } }
`);
    try {
      // Head and body in one write, so that as much of the body as possible arrives before Redis answers.
      const body = randomBytes(128 * 1024);
      const answer = await new Promise<string>((resolve, reject) => {
        const sock = connect(local.port, '127.0.0.1', () => sock.write(Buffer.concat([Buffer.from(`PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body])));
        let got = '';
        sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
        sock.on('end', () => resolve(got));
        sock.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      const echoed = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { body: string };
      expect(Buffer.from(echoed.body, 'base64').equals(body)).toBe(true);
      // A body within the bound is sent with its length, from memory.
      const small = await rawRequest(local.port, { method: 'PUT', path: '/small', headers: { 'transfer-encoding': 'chunked' }, body: ['abc', 'def'] });
      expect(json(small)).toMatchObject({ bodyLength: 6, headers: { 'content-length': '6' } });
    } finally {
      await local.stop(1000);
    }
  });
});

/** Resolves once `value()` has not changed for a few consecutive event-loop turns of 50 ms (max 5 s). */
async function waitUntilStable(value: () => number): Promise<void> {
  let last = -1;
  let same = 0;
  for (let i = 0; i < 100 && same < 4; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const v = value();
    same = v === last ? same + 1 : 0;
    last = v;
  }
}
