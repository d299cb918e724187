/**
 * Threat model of the HTTP request path (docs/security.md, "Request path"), as raw bytes against a real
 * `turnpike edge` process: what an unauthenticated client can send, and what the edge answers — the
 * status and whether the connection is closed. A case that kills the process fails every later case.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_REDIS_URL, deletePrefix, echoHandler, spawnTurnpike, startUpstream, testPrefix, type TurnpikeProcess, type Upstream } from '@turnpike/testing';
import { RawConnection, exchange, requestHead } from './rawHttp.js';

const MB = 1024 * 1024;
const MAX_BODY = 2 * MB;
// Long enough that a normal request under a loaded machine is answered well inside it.
const BODY_TIMEOUT_MS = 3000;
/** The small upstream takes this many connections at once; more are refused. */
const SMALL_POOL = 4;

let dir: string;
let prefix: string;
let echo: Upstream;
let small: Upstream;
/** Requests the small upstream saw start, by path. */
const smallArrivals: string[] = [];
/** A request to the small upstream's `/hold` waits for this to be called; `held` resolves when one arrives. */
let releaseHold: (() => void) | null = null;
let held: (() => void) | null = null;
let edge: TurnpikeProcess;
let port: number;

beforeAll(async () => {
  echo = await startUpstream(echoHandler);
  small = await startUpstream((req: IncomingMessage, res) => {
    smallArrivals.push(req.url!);
    req.resume();
    req.on('end', () => {
      if (req.url !== '/hold') return res.end('small');
      releaseHold = () => res.end('held');
      held?.();
    });
  });
  small.server.maxConnections = SMALL_POOL;
  dir = mkdtempSync(join(tmpdir(), 'tp-security-'));
  prefix = testPrefix('security');
  const file = join(dir, 'turnpike.yaml');
  writeFileSync(
    file,
    `
gateway:
  maxBodyBytes: ${MAX_BODY}
  bodyTimeoutMs: ${BODY_TIMEOUT_MS}
apis:
  - name: sec
    routes:
      GET /health: { integration: { type: mock, body: '{"ok":true}' } }
      GET /only: { integration: { type: mock } }
      POST /keyed: { apiKeyRequired: true, integration: { type: mock } }
      ANY /echo/{proxy+}: { integration: { type: http_proxy, uri: "${echo.url}/{proxy}" } }
      POST /small/{proxy+}: { integration: { type: http_proxy, uri: "${small.url}/{proxy}", timeoutMs: 5000 } }
`,
  );
  edge = await spawnTurnpike(['edge', '--config', file, '--port', '0', '--management-port=-1', '--redis', SHARED_REDIS_URL, '--key-prefix', prefix]);
  port = edge.info.port as number;
});

afterAll(async () => {
  await edge?.stop('SIGKILL');
  await echo?.close();
  await small?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (prefix) await deletePrefix(SHARED_REDIS_URL, prefix);
});

/** The edge process is alive and answers on a fresh connection. */
async function edgeAnswers(): Promise<void> {
  expect(edge.proc.exitCode, `edge exited:\n${edge.output()}`).toBeNull();
  const { conn, answer } = await exchange(port, requestHead('GET', '/health'));
  conn.destroy();
  expect(answer.status).toBe(200);
}

interface Case {
  /** What the client does. */
  readonly name: string;
  /** Writes the request (head, body, or a trickle of it) on `conn`. */
  readonly send: (conn: RawConnection) => Promise<unknown>;
  readonly status: number;
  /** true: the edge closes the connection after answering; false: the connection serves a next request. */
  readonly closes: boolean;
  /** Refused by (or, with another uWS build, possibly by) uWS's HTTP parser before the pipeline sees it: no request id, no JSON body. */
  readonly parser?: boolean;
  /**
   * The client is still writing when the edge closes: uWS closes without lingering, so the client may
   * see a reset instead of the answer. What matters then is that the connection ends and the edge lives.
   */
  readonly mayReset?: boolean;
}

const filler = (n: number) => Buffer.alloc(n, 0x61);
const chunked = (total: number, chunk = 64 * 1024): Buffer[] => {
  const out: Buffer[] = [];
  for (let sent = 0; sent < total; sent += chunk) out.push(Buffer.from(`${chunk.toString(16)}\r\n`), filler(chunk), Buffer.from('\r\n'));
  return out;
};
const head = (method: string, target: string, headers: Record<string, string | number> = {}, host?: string) => (conn: RawConnection) => conn.write(requestHead(method, target, headers, host));
const withBody = (method: string, target: string, size: number, headers: Record<string, string | number> = {}) => async (conn: RawConnection) => {
  await conn.write(requestHead(method, target, { 'content-length': size, ...headers }));
  return conn.writeFiller(size);
};
const withChunkedBody = (method: string, target: string, size: number) => async (conn: RawConnection) => {
  await conn.write(requestHead(method, target, { 'transfer-encoding': 'chunked' }));
  for (const part of chunked(size)) if (!(await conn.write(part))) return;
  await conn.write('0\r\n\r\n');
};

/** A request whose body is a complete second request: it must be read as body, never answered. */
const SMUGGLED = requestHead('GET', '/health');

const CASES: readonly Case[] = [
  // --- the remote crash: answers given while the body is still arriving -------------------------------
  // (an unknown path or method is a REST API's 403 Missing Authentication Token)
  { name: '1 MB body to an unknown path', send: withBody('POST', '/unknown', MB), status: 403, closes: false },
  { name: '1 MB body to a path without that method', send: withBody('POST', '/only', MB), status: 403, closes: false },
  { name: '1 MB body to a route that needs an API key', send: withBody('POST', '/keyed', MB), status: 403, closes: false },
  { name: '1 MB body with a traversal-shaped path', send: withBody('POST', '/echo/..%2Fadmin', MB), status: 400, closes: false },
  { name: '1 MB chunked body to an unknown path', send: withChunkedBody('POST', '/unknown', MB), status: 403, closes: true, mayReset: true },
  {
    name: 'a chunked body to an unknown path (no bound on what would follow: closed)',
    send: (c) => c.write(requestHead('POST', '/unknown', { 'transfer-encoding': 'chunked' }) + '5\r\nhello\r\n'),
    status: 403,
    closes: true,
  },

  // --- smuggling-free framing ------------------------------------------------------------------------
  { name: 'a body holding a second request, to an unknown path', send: (c) => c.write(requestHead('POST', '/unknown', { 'content-length': SMUGGLED.length }) + SMUGGLED), status: 403, closes: false },
  { name: 'content-length and transfer-encoding together', send: (c) => c.write(requestHead('POST', '/echo/x', { 'content-length': 5, 'transfer-encoding': 'chunked' }) + '0\r\n\r\n'), status: 400, closes: true, parser: true },
  { name: 'a content-length that is not a decimal number', send: head('POST', '/echo/x', { 'content-length': '1e3' }), status: 400, closes: true, parser: true },
  { name: 'two different content-lengths', send: (c) => c.write(`POST /echo/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`), status: 400, closes: true },

  // --- traversal-shaped paths: refused, never forwarded for an upstream to resolve ---------------------
  ...['/echo/a/..;/admin', '/echo/..;jsessionid=x/admin', '/echo/a/%2e%2e/admin', '/echo/a/.%2e/admin', '/echo/a/%2E./admin', '/echo/a/..%2Fadmin', '/echo/a/..%2fadmin', '/echo/a/..%5Cadmin', '/echo/a/%2e%2e%2fadmin', '/echo/%2e', '/..', '/echo/../../etc/passwd'].map(
    (target): Case => ({ name: `GET ${target}`, send: head('GET', target), status: 400, closes: false }),
  ),

  // --- oversize and malformed input ------------------------------------------------------------------
  { name: 'request line and headers over 10 KB', send: head('GET', '/health', { 'x-big': 'b'.repeat(10 * 1024) }), status: 431, closes: true },
  { name: 'a request line over 10 KB', send: head('GET', `/health?${'q'.repeat(10 * 1024)}`), status: 431, closes: true },
  {
    // uWS holds a head that spans several reads in a fallback buffer: 4 KB in the 2023 build (fixed),
    // UWS_HTTP_MAX_HEADERS_SIZE in current ones. Either way a trickled oversize head is refused.
    name: 'headers over 10 KB, trickled in 1 KB pieces',
    send: async (c) => {
      const bytes = requestHead('GET', '/health', { 'x-big': 'b'.repeat(11 * 1024) });
      for (let i = 0; i < bytes.length && !c.closed; i += 1024) await c.write(bytes.slice(i, i + 1024));
    },
    status: 431,
    closes: true,
    parser: true,
    mayReset: true,
  },
  { name: 'a declared body over maxBodyBytes (nothing of it read)', send: head('POST', '/echo/x', { 'content-length': 3 * MB }), status: 413, closes: true },
  {
    name: 'a chunked body growing over maxBodyBytes',
    send: async (c) => {
      // Stops writing once over the limit, so the answer is not lost to a reset (see mayReset).
      await c.write(requestHead('POST', '/echo/x', { 'transfer-encoding': 'chunked' }));
      for (const part of chunked(MAX_BODY + 64 * 1024)) await c.write(part);
    },
    status: 413,
    closes: true,
  },
  { name: 'a Host header with a path', send: head('GET', '/echo/x', {}, 'example.com/evil'), status: 400, closes: true },
  { name: 'a Host header with userinfo', send: head('GET', '/echo/x', {}, 'user@example.com'), status: 400, closes: true },
  { name: 'a Host header with a bad port', send: head('GET', '/echo/x', {}, 'example.com:99999'), status: 400, closes: true },
  // uWebSockets.js v20 refuses a repeated Host itself, before the edge sees the request.
  { name: 'two Host headers', send: (c) => c.write('GET /echo/x HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n'), status: 400, closes: true, parser: true },

  // --- slow bodies -----------------------------------------------------------------------------------
  {
    name: `a body that stops arriving (bodyTimeoutMs ${BODY_TIMEOUT_MS})`,
    send: async (c) => {
      await c.write(requestHead('POST', '/echo/x', { 'content-length': 1000 }));
      await c.write(filler(10));
    },
    status: 408,
    closes: true,
  },
];

describe('request path: what a client can send, and what the edge answers', () => {
  it.each(CASES)('$name → $status, closes: $closes', async (c) => {
    const conn = await RawConnection.open(port);
    try {
      const sending = c.send(conn).catch(() => {}); // the edge may close while a big body is still being written
      const answer = await conn.readResponse().catch((err: Error) => {
        if (c.mayReset && conn.closed) return null;
        throw err;
      });
      if (answer !== null) {
        expect(answer.status, answer.body.toString()).toBe(c.status);
        if (!c.parser) {
          expect(answer.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
          expect(JSON.parse(answer.body.toString())).toHaveProperty('message');
        }
      }
      await sending;
      if (c.closes) {
        expect(await conn.closesWithin(2000)).toBe(true);
      } else {
        // The same connection serves the next request, and nothing the body held was answered in between.
        await conn.write(requestHead('GET', '/health'));
        const next = await conn.readResponse();
        expect(next.status).toBe(200);
        expect(next.body.toString()).toBe('{"ok":true}');
        expect(conn.unread.length).toBe(0);
      }
    } finally {
      conn.destroy();
    }
    await edgeAnswers();
  });

  it('survives the crash sequence of issue 10: five 1 MB posts to an unknown path', async () => {
    for (let i = 0; i < 5; i++) {
      const { conn, answer } = await exchange(port, Buffer.concat([Buffer.from(requestHead('POST', '/unknown', { 'content-length': MB })), filler(MB)]));
      conn.destroy();
      expect(answer.status).toBe(403);
    }
    await edgeAnswers();
  });

  it('forwards a normalized path and a validated Host; literal dot segments are resolved', async () => {
    const { conn, answer } = await exchange(port, requestHead('GET', '/echo/a/./b/../c', {}, 'api.example.com:8443'));
    conn.destroy();
    expect(answer.status).toBe(200);
    const seen = JSON.parse(answer.body.toString()) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/a/c');
    expect(seen.headers['x-forwarded-host']).toBe('api.example.com:8443');
  });

  it(`slow-body clients never hold an upstream connection: ${SMALL_POOL * 5} tricklers, then a normal request`, async () => {
    smallArrivals.length = 0;
    const tricklers = await Promise.all(Array.from({ length: SMALL_POOL * 5 }, () => RawConnection.open(port)));
    await Promise.all(tricklers.map((t, i) => t.write(requestHead('POST', `/small/slow${i}`, { 'content-length': 64 * 1024 }) + 'x'.repeat(100))));
    const started = performance.now();
    const { conn, answer } = await exchange(port, requestHead('POST', '/small/normal', { 'content-length': 5 }) + 'hello');
    const ms = performance.now() - started;
    conn.destroy();
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('small');
    expect(ms).toBeLessThan(BODY_TIMEOUT_MS);
    // None of the unfinished bodies reached the upstream; each is answered 408 and closed.
    expect(smallArrivals).toEqual(['/normal']);
    for (const t of tricklers) {
      expect((await t.readResponse()).status).toBe(408);
      expect(await t.closesWithin(2000)).toBe(true);
      t.destroy();
    }
    expect(smallArrivals).toEqual(['/normal']);
  });

  it('while draining for shutdown, a keep-alive connection gets `Connection: close` and is closed', async () => {
    const conn = await RawConnection.open(port);
    await conn.write(requestHead('GET', '/health'));
    expect((await conn.readResponse()).status).toBe(200);
    // Something in flight keeps the node draining: a request the upstream holds.
    const inflight = await RawConnection.open(port);
    const upstreamHasIt = new Promise<void>((resolve) => (held = resolve));
    await inflight.write(requestHead('POST', '/small/hold', { 'content-length': 4 }) + 'hold');
    await upstreamHasIt;
    const draining = printed(edge, 'edge draining');
    edge.proc.kill('SIGTERM');
    await draining;
    await conn.write(requestHead('GET', '/health'));
    const r = await conn.readResponse();
    expect(r.status).toBe(200);
    expect(r.headers.connection).toBe('close');
    expect(await conn.closesWithin(2000)).toBe(true);
    releaseHold!();
    const done = await inflight.readResponse();
    expect(done.status).toBe(200);
    expect(done.body.toString()).toBe('held');
    expect(done.headers.connection).toBe('close');
    // It was told to stop above: it exits by itself once drained (a second SIGTERM would not be a drain).
    expect(await exitCodeOf(edge)).toBe(0);
  });
});

/** The exit code of a process already asked to stop, once it has exited. */
async function exitCodeOf(p: TurnpikeProcess): Promise<number | string | null> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return p.proc.exitCode ?? p.proc.signalCode;
  const [code, signal] = (await once(p.proc, 'exit')) as [number | null, NodeJS.Signals | null];
  return code ?? signal;
}

/** Resolves once the process has printed `text` (its log lines go to stdout). */
function printed(p: TurnpikeProcess, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (p.output().includes(text)) return resolve();
    const onData = () => {
      if (!p.output().includes(text)) return;
      p.proc.stdout!.off('data', onData);
      resolve();
    };
    p.proc.stdout!.on('data', onData);
  });
}
