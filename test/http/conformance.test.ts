// HTTP/1.1 conformance of the edge's listener, over raw sockets (RFC 9110/9112). Every case states the
// final status codes it must get, in order, and whether the connection must then be closed; every
// request-smuggling-class case must also leave the recording upstream without any request it did
// not ask for. The edge runs in-process on the uWebSockets.js build production uses.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@turnpike/config';
import { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, testPrefix } from '@turnpike/testing';
import { header, RawConnection, RecordingUpstream, type WireResponse } from './rawHttp.js';

let upstream: RecordingUpstream;
let edge: Edge;
const open: RawConnection[] = [];

beforeAll(async () => {
  upstream = await new RecordingUpstream().start();
  edge = await new Edge({
    config: parseConfig(
      `
apis:
  - name: conformance
    basePath: /
    routes:
      ANY /up/{proxy+}: { integration: { type: http_proxy, uri: "http://127.0.0.1:${upstream.port}/{proxy}" } }
      ANY /mock: { integration: { type: mock, statusCode: 200, headers: { X-Mock-Header: Yes }, body: '{"mock":true}' } }
`,
      'conformance.yaml',
    ),
    port: 0,
    host: '127.0.0.1',
    managementPort: -1,
    redisUrl: SHARED_REDIS_URL,
    keyPrefix: testPrefix('http-conformance'),
    logger: pino({ level: 'silent' }),
  }).start();
});

afterEach(() => {
  for (const c of open.splice(0)) c.destroy();
  upstream.reset();
});

afterAll(async () => {
  await edge?.stop(1000);
  await upstream?.close();
});

async function connection(): Promise<RawConnection> {
  const c = new RawConnection(edge.port);
  open.push(c);
  await c.ready;
  return c;
}

/**
 * Sends `parts` as separate TCP writes. A pause between writes is the only way to make the server read
 * them separately (there is no event for "the peer has read"); 3 ms is ample on loopback.
 */
async function send(c: RawConnection, parts: (string | Buffer)[]): Promise<void> {
  for (const [i, part] of parts.entries()) {
    if (i > 0) await new Promise((r) => setTimeout(r, 3));
    await c.write(part);
  }
}

/** After the expected responses: the connection must still serve a request, or must be closed. */
async function expectConnection(c: RawConnection, mustClose: boolean, what: string): Promise<void> {
  if (mustClose) {
    expect(await c.closedWithin(3000), `${what}: connection must be closed; got ${JSON.stringify(c.received())}`).toBe(true);
    return;
  }
  expect(c.closed, `${what}: connection must stay open; got ${JSON.stringify(c.received())}`).toBe(false);
}

const H = 'Host: conformance.test\r\n';

interface Case {
  name: string;
  /** The raw request bytes. */
  request: string | Buffer;
  /** Final statuses, in order. */
  statuses: number[];
  close: boolean;
  /** A smuggling-class case: besides close, the upstream must have received no complete request. */
  smuggling?: boolean;
  /**
   * Where the answer is uWebSockets.js's and not what RFC 9112 asks for, why (docs/edge.md, "HTTP/1.1
   * conformance", lists each). The case pins uWS's behaviour so an update that changes it shows here.
   */
  limit?: string;
}

/** Sends one case on a fresh connection and checks its answer and connection state. */
async function runCase(k: Case): Promise<WireResponse[]> {
  const c = await connection();
  await send(c, [k.request]);
  const rs = (await c.responses(k.statuses.length, 3000)).filter((r) => r.status >= 200);
  expect(rs.map((r) => r.status), `${k.name}: got ${JSON.stringify(c.received())}`).toEqual(k.statuses);
  await expectConnection(c, k.close, k.name);
  if (k.smuggling) expect(upstream.completed(), `${k.name}: forwarded ${JSON.stringify(upstream.seen.map((r) => r.url))}`).toEqual([]);
  return rs;
}

describe('the runtime', () => {
  it('is the uWebSockets.js production uses, on Node.js 22 or newer', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../node_modules/uWebSockets.js/package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    expect(`${pkg.name}@${pkg.version}`).toBe('@btc-vision/uwebsockets.js@20.57.0');
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
  });
});

describe('a request split at every byte offset', () => {
  const body = 'name=turnpike&x=1';
  const request = `POST /up/split?q=1 HTTP/1.1\r\n${H}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

  it(`is answered the same at each of its ${request.length - 1} split points, head and body`, async () => {
    for (let at = 1; at < request.length; at++) {
      upstream.reset();
      const c = await connection();
      await send(c, [request.slice(0, at), request.slice(at)]);
      const [r] = await c.responses(1);
      expect(r?.status, `split at ${at}: ${JSON.stringify(c.received())}`).toBe(200);
      expect(upstream.completed().map((x) => [x.url, x.body.toString()])).toEqual([['/split?q=1', body]]);
      await expectConnection(c, false, `split at ${at}`);
      c.destroy();
    }
  });

  it('a chunked body split at every byte offset arrives whole', async () => {
    const chunked = `POST /up/chunks HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n`;
    for (let at = 1; at < chunked.length; at++) {
      upstream.reset();
      const c = await connection();
      await send(c, [chunked.slice(0, at), chunked.slice(at)]);
      const [r] = await c.responses(1);
      expect(r?.status, `split at ${at}: ${JSON.stringify(c.received())}`).toBe(200);
      expect(upstream.completed().map((x) => x.body.toString())).toEqual(['hello, world']);
      c.destroy();
    }
  });
});

const manyHeaders = (n: number) => Array.from({ length: n }, (_, i) => `X-Header-${i}: value-${i}\r\n`).join('');
/** A GET whose head (request line to the blank line included) is exactly `bytes` long. */
const headSized = (bytes: number) => {
  const head = `GET /mock HTTP/1.1\r\n${H}`;
  const fill = bytes - head.length - 2;
  const lines: string[] = [];
  for (let left = fill, i = 0; left > 0; i++) {
    const take = left > 1040 ? 1000 : left;
    const name = `X-Fill-${String(i).padStart(3, '0')}: `;
    lines.push(`${name}${'v'.repeat(take - name.length - 2)}\r\n`);
    left -= take;
  }
  return `${head}${lines.join('')}\r\n`;
};

const cases: Case[] = [
  { name: 'a plain GET', request: `GET /mock HTTP/1.1\r\n${H}\r\n`, statuses: [200], close: false },
  { name: '98 header fields', request: `GET /mock HTTP/1.1\r\n${H}${manyHeaders(97)}\r\n`, statuses: [200], close: false },
  { name: '100 header fields', request: `GET /mock HTTP/1.1\r\n${H}${manyHeaders(99)}\r\n`, statuses: [431], close: true, limit: 'uWS stores at most 98 fields (a compile-time constant)' },
  { name: 'an 8 KB header section', request: headSized(8 * 1024), statuses: [200], close: false },
  // gateway.maxHeaderBytes (10 KB, API Gateway's limit) is checked by the edge; uWS's own 16 KB bound
  // (UWS_HTTP_MAX_HEADERS_SIZE, set by bin/turnpike.mjs) refuses anything larger before the edge sees it.
  { name: 'a 10 KB header section (the gateway limit, exactly)', request: headSized(10 * 1024), statuses: [200], close: false },
  { name: 'a 16 KB header section (over the gateway limit)', request: headSized(16 * 1024), statuses: [431], close: true },
  { name: 'a header section one byte over 16 KB (over uWS\'s limit)', request: headSized(16 * 1024 + 1), statuses: [431], close: true },
  { name: 'a 64 KB header section', request: headSized(64 * 1024), statuses: [431], close: true },

  // Content-Length
  { name: 'two identical Content-Length', request: `POST /up/cl HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, statuses: [400], close: true, smuggling: true },
  { name: 'two different Content-Length', request: `POST /up/cl HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 30\r\n\r\nhello`, statuses: [400], close: true, smuggling: true },
  // With bytes already behind the body, uWS parses them as a request while the 400 is pending and
  // closes the connection (see requestHead.ts): no answer, and the smuggled request never runs.
  { name: 'two different Content-Length, a request smuggled behind', request: `POST /up/cl HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 30\r\n\r\nhelloGET /up/smuggled HTTP/1.1\r\n${H}\r\n`, statuses: [], close: true, smuggling: true },
  { name: 'a Content-Length list', request: `POST /up/cl HTTP/1.1\r\n${H}Content-Length: 5, 30\r\n\r\nhello`, statuses: [400], close: true, smuggling: true },
  { name: 'a signed Content-Length', request: `POST /up/cl HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`, statuses: [400], close: true, smuggling: true },
  { name: 'a Content-Length that is not a number', request: `POST /up/cl HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello`, statuses: [400], close: true, smuggling: true },

  // Transfer-Encoding
  { name: 'Transfer-Encoding and Content-Length', request: `POST /up/te HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX`, statuses: [400], close: true, smuggling: true },
  { name: 'Content-Length then Transfer-Encoding', request: `POST /up/te HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n`, statuses: [400], close: true, smuggling: true },
  { name: 'Transfer-Encoding: xchunked', request: `POST /up/te HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`, statuses: [400], close: true, smuggling: true },
  { name: 'Transfer-Encoding: chunked, identity', request: `POST /up/te HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`, statuses: [400], close: true, smuggling: true },
  { name: 'Transfer-Encoding: identity, chunked', request: `POST /up/te HTTP/1.1\r\n${H}Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n`, statuses: [400], close: true, smuggling: true },
  { name: 'Transfer-Encoding: gzip', request: `POST /up/te HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`, statuses: [400], close: true, smuggling: true },
  { name: 'Transfer-Encoding twice', request: `POST /up/te HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, statuses: [400], close: true, smuggling: true },
  { name: 'Transfer-Encoding: CHUNKED (case-insensitive, accepted)', request: `POST /up/te HTTP/1.1\r\n${H}Transfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, statuses: [200], close: false },
  { name: 'Transfer-Encoding with a tab before the value', request: `POST /up/te HTTP/1.1\r\n${H}Transfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, statuses: [200], close: false },
  { name: 'a space before the colon', request: `POST /up/te HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, statuses: [400], close: true, smuggling: true },
  { name: 'Transfer-Encoding in an HTTP/1.0 request', request: `POST /up/te HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, statuses: [505], close: true, smuggling: true },

  // chunked bodies
  { name: 'chunk extensions', request: `POST /up/ext HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;name=value;flag\r\nhello\r\n0;last\r\n\r\n`, statuses: [400], close: true, limit: 'uWS refuses chunk extensions (RFC 9112 7.1.1: to be ignored)' },
  { name: 'trailers', request: `POST /up/trailer HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: yes\r\n\r\n`, statuses: [505], close: true, limit: 'uWS reads a trailer line as the next request line' },
  {
    name: 'chunk data longer than its size',
    request: `POST /up/long HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n`,
    statuses: [200],
    close: false,
    limit: 'uWS does not check the CRLF after chunk data; the edge never sees chunk framing',
  },
  {
    name: 'chunk data shorter than its size, then a request',
    request: `POST /up/short HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhel\r\n0\r\n\r\nGET /up/smuggled HTTP/1.1\r\n${H}\r\n`,
    statuses: [],
    close: true,
    limit: 'uWS does not check the CRLF after chunk data; the edge never sees chunk framing',
  },
  // The same malformed chunk with a request behind it: on a route answered asynchronously (a proxy) the
  // request behind is parsed while the first is unanswered, and uWS closes the connection; on a route
  // answered before the body is read (a mock, an early 4xx) it runs as a request of its own.
  {
    name: 'chunk data longer than its size, a request smuggled behind, to a proxied route',
    request: `POST /up/long HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\nGET /up/smuggled HTTP/1.1\r\n${H}\r\n`,
    statuses: [],
    close: true,
    limit: 'uWS does not check the CRLF after chunk data',
  },
  {
    name: 'chunk data longer than its size, a request smuggled behind, to a route answered at once',
    request: `POST /mock HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\nGET /mock?smuggled HTTP/1.1\r\n${H}\r\n`,
    statuses: [200, 200],
    close: false,
    limit: 'uWS does not check the CRLF after chunk data: the bytes behind run as a second request',
  },
  { name: 'a chunk size that is not hex', request: `POST /up/size HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, statuses: [400], close: true, smuggling: true },
  { name: 'a chunk size that overflows 64 bits', request: `POST /up/size HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n`, statuses: [400], close: true, smuggling: true },

  // line syntax
  { name: 'obs-fold', request: `GET /up/fold HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n`, statuses: [400], close: true, smuggling: true },
  { name: 'bare LF line endings', request: `GET /up/lf HTTP/1.1\n${H.replace('\r\n', '\n')}\n`, statuses: [505], close: true, smuggling: true, limit: 'refused, with 505 where 400 is right' },
  { name: 'a bare LF inside the header section', request: `GET /up/lf HTTP/1.1\r\n${H}X-A: 1\nX-B: 2\r\n\r\n`, statuses: [400], close: true, smuggling: true },
  { name: 'NUL in a header value', request: `GET /up/nul HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`, statuses: [400], close: true, smuggling: true },
  { name: 'CR in a header value', request: `GET /up/cr HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`, statuses: [], close: false, smuggling: true, limit: 'never answered nor closed: uWS waits for the rest of a head it cannot end' },
  { name: 'a header without a colon', request: `GET /up/nocolon HTTP/1.1\r\n${H}X-A\r\n\r\n`, statuses: [400], close: true, smuggling: true },
  { name: 'no Host', request: `GET /mock HTTP/1.1\r\n\r\n`, statuses: [400], close: true },
  { name: 'two Hosts', request: `GET /mock HTTP/1.1\r\n${H}${H}\r\n`, statuses: [400], close: true },

  // request targets
  { name: 'absolute-form target', request: `GET http://conformance.test/mock HTTP/1.1\r\n${H}\r\n`, statuses: [505], close: true, limit: 'uWS parses only origin-form targets (RFC 9112 3.2.2: servers must accept absolute-form)' },
  { name: 'asterisk-form OPTIONS', request: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, statuses: [505], close: true, limit: 'uWS parses only origin-form targets' },
  { name: 'asterisk-form with GET', request: `GET * HTTP/1.1\r\n${H}\r\n`, statuses: [505], close: true, limit: 'refused, with 505 where 400 is right' },

  // versions
  { name: 'HTTP/1.0 without keep-alive', request: `GET /mock HTTP/1.0\r\n${H}\r\n`, statuses: [505], close: true },
  { name: 'HTTP/1.0 with keep-alive', request: `GET /mock HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n`, statuses: [505], close: true },
  { name: 'HTTP/2.0 in an HTTP/1 request line', request: `GET /mock HTTP/2.0\r\n${H}\r\n`, statuses: [505], close: true },
  { name: 'Connection: close', request: `GET /mock HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, statuses: [200], close: true },
];

describe('the table', () => {
  for (const k of cases) it(k.limit ? `${k.name} (uWS limit: ${k.limit})` : k.name, () => runCase(k).then(() => undefined));
});

describe('Expect: 100-continue', () => {
  it('sends 100 Continue before reading the body, then the answer', async () => {
    const c = await connection();
    await c.write(`POST /up/expect HTTP/1.1\r\n${H}Content-Length: 5\r\nExpect: 100-continue\r\n\r\n`);
    expect(await c.waitForStatus(100), c.received()).not.toBeNull();
    expect(upstream.completed()).toEqual([]);
    await c.write('hello');
    const rs = await c.responses(1);
    expect(rs.map((r) => r.status)).toEqual([100, 200]);
    expect(upstream.completed().map((r) => r.body.toString())).toEqual(['hello']);
  });
});

describe('pipelining', () => {
  it('answers synchronous responses in order', async () => {
    const c = await connection();
    await c.write(`GET /mock HTTP/1.1\r\n${H}\r\n`.repeat(3));
    expect((await c.responses(3)).map((r) => r.status)).toEqual([200, 200, 200]);
    await expectConnection(c, false, 'pipelined mock');
  });

  it('sequential requests on one connection, each answered before the next is sent, all succeed', async () => {
    const c = await connection();
    for (let i = 1; i <= 3; i++) {
      await c.write(`GET /up/slow/${i} HTTP/1.1\r\n${H}\r\n`);
      expect((await c.responses(i)).map((r) => r.status)).toEqual(Array(i).fill(200));
    }
    await expectConnection(c, false, 'keep-alive');
  });

  // uWS limit (docs/edge.md): a request parsed while an earlier one on the connection is unanswered
  // closes the connection ("denying async pipelining", in uWS's HttpContext). Clients retry on a new
  // connection; browsers and the common HTTP clients never pipeline.
  it('closes the connection when a request arrives before an asynchronous answer (uWS limit)', async () => {
    const c = await connection();
    await c.write(`GET /up/slow/1 HTTP/1.1\r\n${H}\r\nPOST /up/fast/2 HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabc`);
    expect(await c.closedWithin(3000)).toBe(true);
    expect(await c.responses(1, 0)).toEqual([]);
    expect(upstream.seen.map((r) => r.url)).not.toContain('/fast/2');
  });
});

describe('the response', () => {
  it("is well formed: the edge writes lower-case names (AWS's own x-amzn-RequestId in AWS's case), uWS its own in its case", async () => {
    const c = await connection();
    await c.write(`GET /up/case HTTP/1.1\r\n${H}\r\n`);
    const [proxied] = await c.responses(1);
    await c.write(`GET /mock HTTP/1.1\r\n${H}\r\n`);
    const [, mocked] = await c.responses(2);
    expect(proxied!.statusLine).toBe('HTTP/1.1 200 OK');
    for (const r of [proxied!, mocked!]) {
      for (const [name] of r.headers) expect(name, c.received()).toMatch(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/);
      // Header names are case-insensitive (RFC 9110 5.1). The upstream's `X-Upstream-Case` and the mock's
      // `X-Mock-Header` arrive lower-cased (as undici and the config parser give them); the framing
      // headers uWS writes keep uWS's case, and x-amzn-RequestId is written as API Gateway writes it.
      expect(r.headers.filter(([k]) => k !== k.toLowerCase()).map(([k]) => k).sort()).toEqual(['Content-Length', 'Date', 'uWebSockets', 'x-amzn-RequestId']);
    }
    expect(header(proxied!, 'x-upstream-case')).toBe('Mixed');
    expect(proxied!.headers.map(([k]) => k)).toContain('x-upstream-case');
    expect(mocked!.headers.map(([k]) => k)).toContain('x-mock-header');
  });
});
