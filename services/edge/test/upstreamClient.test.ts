import { createServer, type Server, type Socket } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from 'undici';
import type { Edge } from '@turnpike/edge';
import { ResponseParser, UpstreamProtocolError, type ResponseSink } from '../src/integrations/httpProxy/http1/responseParser.js';
import { UpstreamPools } from '../src/integrations/httpProxy/http1/upstreamPool.js';
import { json, rawRequest, startEdge } from './fixtures.js';

/** Records what the parser delivers; `pauseAfter` pauses it after that many body chunks. */
class Recorder implements ResponseSink {
  status = 0;
  headers: IncomingHttpHeaders = {};
  body: Buffer[] = [];
  completed: boolean | null = null;
  paused = false;
  onHead(status: number, headers: IncomingHttpHeaders): void {
    this.status = status;
    this.headers = headers;
  }
  onBody(chunk: Buffer): void {
    this.body.push(Buffer.from(chunk));
  }
  onComplete(keepAlive: boolean): void {
    this.completed = keepAlive;
  }
  get text(): string {
    return Buffer.concat(this.body).toString('latin1');
  }
}

/** Parses `wire` delivered in the given pieces; returns the recorder and the bytes left after the response. */
function parse(pieces: Buffer[], opts: { noBody?: boolean; maxHead?: number; eof?: boolean } = {}): { r: Recorder; rest: number } {
  const parser = new ResponseParser(opts.maxHead ?? 16384);
  const r = new Recorder();
  parser.start(r, opts.noBody ?? false);
  let rest = 0;
  for (const p of pieces) {
    const at = parser.execute(p, 0);
    rest += p.length - at;
  }
  if (opts.eof) parser.finish();
  return { r, rest };
}

/** Every way to cut `wire` in two. */
function splits(wire: string): Buffer[][] {
  const b = Buffer.from(wire, 'latin1');
  return Array.from({ length: b.length + 1 }, (_, i) => [b.subarray(0, i), b.subarray(i)]);
}

const CL = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\nhello world';
const CHUNKED =
  'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-Up: 1\r\n\r\n5;name=value;quoted="a;b"\r\nhello\r\n1\r\n \r\nA \r\n0123456789\r\n0;last\r\nX-Trailer: t\r\nX-Other: o\r\n\r\n';

describe('the upstream response parser', () => {
  it('parses a Content-Length response, keeping repeated headers as a list', () => {
    const { r, rest } = parse([Buffer.from(CL, 'latin1')]);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(r.text).toBe('hello world');
    expect(r.completed).toBe(true);
    expect(rest).toBe(0);
  });

  it('keeps headers named like Object properties as ordinary headers', () => {
    const { r } = parse([Buffer.from('HTTP/1.1 200 OK\r\nConstructor: c\r\n__proto__: p\r\ntoString: t\r\nContent-Length: 0\r\n\r\n', 'latin1')]);
    expect(Object.entries(r.headers)).toEqual([['constructor', 'c'], ['__proto__', 'p'], ['tostring', 't'], ['content-length', '0']]);
  });

  it('reads chunked bodies with extensions and trailers, dropping both', () => {
    const { r } = parse([Buffer.from(CHUNKED, 'latin1')]);
    expect(r.status).toBe(201);
    expect(r.text).toBe('hello 0123456789');
    expect(r.headers['x-trailer']).toBeUndefined();
    expect(r.completed).toBe(true);
  });

  it('gives the same result however the bytes are split', () => {
    for (const wire of [CL, CHUNKED]) {
      const whole = parse([Buffer.from(wire, 'latin1')]).r;
      for (const pieces of splits(wire)) {
        const { r, rest } = parse(pieces);
        expect({ status: r.status, headers: r.headers, body: r.text, completed: r.completed, rest }).toEqual({ status: whole.status, headers: whole.headers, body: whole.text, completed: true, rest: 0 });
      }
      // One byte at a time, too.
      const bytes = [...Buffer.from(wire, 'latin1')].map((b) => Buffer.from([b]));
      expect(parse(bytes).r.text).toBe(whole.text);
    }
  });

  it('reads a close-delimited body to the end of the connection, which then is not reused', () => {
    const wire = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end';
    for (const pieces of splits(wire)) {
      const { r } = parse(pieces, { eof: true });
      expect(r.text).toBe('until the end');
      expect(r.completed).toBe(false);
    }
  });

  it('skips 1xx responses, ends HEAD, 204 and 304 responses at their head, and honours Connection: close and HTTP/1.0', () => {
    const { r } = parse([Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'latin1')]);
    expect([r.status, r.text]).toEqual([200, 'ok']);
    expect(parse([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n', 'latin1')], { noBody: true }).r.completed).toBe(true);
    expect(parse([Buffer.from('HTTP/1.1 204 No Content\r\n\r\n', 'latin1')]).r.completed).toBe(true);
    expect(parse([Buffer.from('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n', 'latin1')]).r.completed).toBe(true);
    expect(parse([Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 'latin1')]).r.completed).toBe(false);
    expect(parse([Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', 'latin1')]).r.completed).toBe(false);
    expect(parse([Buffer.from('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n', 'latin1')]).r.completed).toBe(true);
  });

  it('stops at the end of a response and reports the bytes after it', () => {
    const { r, rest } = parse([Buffer.from(`${CL}HTTP/1.1 200 OK\r\n`, 'latin1')]);
    expect(r.completed).toBe(true);
    expect(rest).toBe('HTTP/1.1 200 OK\r\n'.length);
  });

  it('refuses what it does not understand', () => {
    const bad = [
      'HTTP/1.1 2000 OK\r\n\r\n',
      'HTTP/2 200 OK\r\n\r\n',
      'ICY 200 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX-Bare: a\nb\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX-Bare: a\rb\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX-Nul: a\0b\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nBad Name: a\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 101 Switching Protocols\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000\r\n',
    ];
    for (const wire of bad) expect(() => parse([Buffer.from(wire, 'latin1')]), wire).toThrow(UpstreamProtocolError);
  });

  it('says why a head was refused', () => {
    const why = (wire: string) => () => parse([Buffer.from(wire, 'latin1')]);
    expect(why('HTTP/1.1 200 OK\r\nX-A: 1\r\n b\r\n\r\n')).toThrow('obsolete header line folding');
    expect(why('HTTP/1.1 200 OK\r\nNo-Colon\r\nContent-Length: 0\r\n\r\n')).toThrow('invalid header line');
    expect(why('HTTP/1.1 200 OK\r\n: empty name\r\n\r\n')).toThrow('invalid header line');
    expect(why('HTTP/1.1 200 OK\r\nX\rY: v\r\n\r\n')).toThrow('bare CR or LF in the response head');
    expect(why('HTTP/1.1 200 OK\r\nX\nY: v\r\n\r\n')).toThrow('bare CR or LF in the response head');
    expect(why('HTTP/1.1 200 OK\r\nX-V: a\rb\r\n\r\n')).toThrow('bare CR or LF in the response head');
    expect(why('HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n')).toThrow('invalid header name');
    expect(why('HTTP/1.1 200 OK\r\nX-Nul: a\0b\r\n\r\n')).toThrow('NUL in the response head');
    expect(why('HTTP/1.1 20x OK\r\n\r\n')).toThrow('invalid status line: "HTTP/1.1 20x OK"');
    expect(why('HTTP/1.1 200 O\nK\r\n\r\n')).toThrow('invalid status line');
  });

  it('takes values without the whitespace around them, keeps repeated fields and merges equal Content-Lengths', () => {
    const { r } = parse([Buffer.from('HTTP/1.1 200 OK\r\nX-Pad: \t a b \t\r\nX-Empty:\r\nX-Two: 1\r\nX-Two: 2\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok', 'latin1')]);
    expect(r.headers['x-pad']).toBe('a b');
    expect(r.headers['x-empty']).toBe('');
    expect(r.headers['x-two']).toEqual(['1', '2']);
    expect(r.headers['content-length']).toBe('2');
    expect(r.text).toBe('ok');
  });

  it('limits the head, however it arrives', () => {
    const head = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(300)}\r\nContent-Length: 0\r\n\r\n`;
    expect(parse([Buffer.from(head)], { maxHead: 400 }).r.completed).toBe(true);
    expect(() => parse([Buffer.from(head)], { maxHead: 200 })).toThrow(/head over 200 bytes/);
    const endless = Array.from({ length: 10 }, () => Buffer.from(`X-More: ${'b'.repeat(50)}\r\n`));
    expect(() => parse([Buffer.from('HTTP/1.1 200 OK\r\n'), ...endless], { maxHead: 200 })).toThrow(/head over 200 bytes/);
  });

  it('fails a response cut short by the connection closing', () => {
    expect(() => parse([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort')], { eof: true })).toThrow(/mid-body/);
    expect(() => parse([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel')], { eof: true })).toThrow(/mid-body/);
    expect(() => parse([Buffer.from('HTTP/1.1 200 O')], { eof: true })).toThrow(/before a response/);
  });

  it('stops when its sink pauses and goes on from where it stopped', () => {
    const parser = new ResponseParser(16384);
    const r = new Recorder();
    parser.start(r, false);
    const wire = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n');
    r.paused = true;
    const at = parser.execute(wire, 0);
    expect(r.text).toBe('abc');
    r.paused = false;
    expect(parser.execute(wire, at)).toBe(wire.length);
    expect(r.text).toBe('abcdef');
    expect(r.completed).toBe(true);
  });
});

/**
 * A raw upstream: `respond` gets each request head (requests here carry no body) and its socket, and
 * writes whatever bytes the test wants. Counts connections.
 */
class RawUpstream {
  connections = 0;
  /** Connections the edge side closed or reset. */
  closed = 0;
  /** Every request head received, in order. */
  readonly heads: string[] = [];
  readonly sockets: Socket[] = [];
  private server!: Server;
  port = 0;
  constructor(private readonly respond: (head: string, socket: Socket) => void) {}
  async start(): Promise<this> {
    this.server = createServer((socket) => {
      this.connections++;
      this.sockets.push(socket);
      let buf = '';
      socket.on('error', () => {});
      socket.on('close', () => this.closed++);
      socket.on('data', (d) => {
        buf += d.toString('latin1');
        let end: number;
        while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          this.heads.push(head);
          this.respond(head, socket);
        }
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface Outcome {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  error: Error | null;
}

/** One request through `pools`, resolved at its end or error. */
function send(pools: UpstreamPools, port: number, path: string, method = 'GET'): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { status: 0, headers: {}, body: '', error: null };
    const handler: Dispatcher.DispatchHandler = {
      onResponseStart: (_c, status, headers) => {
        out.status = status;
        out.headers = headers;
      },
      onResponseData: (_c, chunk) => {
        out.body += chunk.toString('latin1');
      },
      onResponseEnd: () => resolve(out),
      onResponseError: (_c, err) => {
        out.error = err;
        resolve(out);
      },
    };
    pools.pool(`http://127.0.0.1:${port}`).request(`${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`, null, method === 'HEAD', 5000, handler);
  });
}

const LIMITS = { connections: 4, keepAliveTimeoutMs: 30_000, keepAliveMaxTimeoutMs: 600_000, connectTimeoutMs: 5000, maxHeadBytes: 1024 };

describe('the upstream connection pool', () => {
  let up: RawUpstream;
  let pools: UpstreamPools;

  beforeAll(async () => {
    up = await new RawUpstream((head, socket) => {
      const [, path] = head.split(' ');
      if (path === '/ok') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else if (path === '/close') socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
      else if (path === '/garbage') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
      else if (path === '/late-garbage') {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        setImmediate(() => socket.write('junk'));
      } else if (path === '/cut') {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
        setImmediate(() => socket.end());
      } else if (path === '/bad-status') socket.write('HTTP/1.1 OK\r\n\r\n');
      else if (path === '/big-head') socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${'x'.repeat(2000)}\r\nContent-Length: 0\r\n\r\n`);
      else if (path === '/until-close') socket.end('HTTP/1.1 200 OK\r\n\r\nall of it');
      else if (path === '/head') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n');
      else if (path === '/split') {
        // Separate segments, so the head and the body arrive over several reads of the shared read buffer.
        const parts = ['HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-', 'Length: 10\r\nX-B: 2\r\n\r\nhel', 'lo', 'world'];
        const next = () => {
          socket.write(parts.shift()!);
          if (parts.length) setTimeout(next, 5);
        };
        next();
      }
    }).start();
  });

  afterAll(async () => {
    pools?.close();
    await up?.close();
  });

  const fresh = () => {
    pools?.close();
    pools = new UpstreamPools(LIMITS);
    up.connections = 0;
  };

  it('reuses a kept-alive connection for the next request', async () => {
    fresh();
    for (let i = 0; i < 3; i++) expect(await send(pools, up.port, '/ok')).toMatchObject({ status: 200, body: 'ok', error: null });
    expect(up.connections).toBe(1);
    expect(pools.openSockets).toBe(1);
  });

  it('closes the connection after Connection: close, a close-delimited body or a HEAD response, as framed', async () => {
    fresh();
    expect(await send(pools, up.port, '/close')).toMatchObject({ status: 200, body: 'ok' });
    expect(await send(pools, up.port, '/until-close')).toMatchObject({ status: 200, body: 'all of it', error: null });
    expect(await send(pools, up.port, '/head', 'HEAD')).toMatchObject({ status: 200, body: '', error: null });
    expect(await send(pools, up.port, '/ok')).toMatchObject({ status: 200, body: 'ok' });
    // /close and /until-close each ended their connection; the HEAD response's connection was reused.
    expect(up.connections).toBe(3);
  });

  it('discards a connection that sent bytes after its response, at once or later', async () => {
    fresh();
    expect(await send(pools, up.port, '/garbage')).toMatchObject({ status: 200, body: 'ok', error: null });
    expect(await send(pools, up.port, '/ok')).toMatchObject({ status: 200, body: 'ok' });
    expect(up.connections).toBe(2);
    expect(await send(pools, up.port, '/late-garbage')).toMatchObject({ status: 200, body: 'ok' });
    await expect.poll(() => pools.openSockets).toBe(0);
    expect(await send(pools, up.port, '/ok')).toMatchObject({ status: 200, body: 'ok' });
    expect(up.connections).toBe(3);
  });

  it('fails a response cut mid-body, a bad status line and a head over the limit, and never reuses their connections', async () => {
    fresh();
    const cut = await send(pools, up.port, '/cut');
    expect(cut.status).toBe(200);
    expect(cut.body).toBe('partial');
    expect(cut.error?.message).toMatch(/mid-body/);
    expect((await send(pools, up.port, '/bad-status')).error).toBeInstanceOf(UpstreamProtocolError);
    expect((await send(pools, up.port, '/big-head')).error?.message).toMatch(/head over 1024 bytes/);
    expect(await send(pools, up.port, '/ok')).toMatchObject({ status: 200, body: 'ok' });
    expect(up.connections).toBe(4);
  });

  it('reassembles a head and body split over reads, while other connections read in between', async () => {
    fresh();
    const [split, ...others] = await Promise.all([send(pools, up.port, '/split'), ...Array.from({ length: 3 }, () => send(pools, up.port, '/ok'))]);
    expect(split).toMatchObject({ status: 200, body: 'helloworld', error: null });
    expect(split.headers).toMatchObject({ 'x-a': '1', 'x-b': '2', 'content-length': '10' });
    expect(others.every((o) => o.body === 'ok')).toBe(true);
  });

  it('writes the request heads of one turn after the turn, and none of a request aborted within it', async () => {
    fresh();
    await Promise.all(Array.from({ length: 3 }, () => send(pools, up.port, '/ok')));
    expect(up.connections).toBe(3);
    const pool = pools.pool(`http://127.0.0.1:${up.port}`);
    const sockets = [...pool.all].map((c) => c.socket);
    const written = () => sockets.reduce((n, s) => n + s.bytesWritten, 0);
    const before = written();
    const closedBefore = up.closed;
    const headsBefore = up.heads.length;
    const kept = [send(pools, up.port, '/ok'), send(pools, up.port, '/ok')];
    const third: { controller?: Dispatcher.DispatchController; error?: Error } = {};
    pool.request('GET /aborted HTTP/1.1\r\nhost: x\r\n\r\n', null, false, 5000, {
      onRequestStart: (c) => (third.controller = c),
      onResponseError: (_c, err) => (third.error = err),
    });
    third.controller?.abort(new Error('client gone'));
    // Three requests given to three kept-alive connections, and not a byte written within the turn.
    expect(written()).toBe(before);
    expect(await Promise.all(kept)).toMatchObject([{ status: 200, body: 'ok' }, { status: 200, body: 'ok' }]);
    expect(third.error?.message).toBe('client gone');
    // The aborted request's connection is closed (its response could not be told from the next one's) with
    // nothing written on it: the upstream saw only the two requests that were kept.
    await expect.poll(() => up.closed).toBe(closedBefore + 1);
    expect(up.heads.slice(headsBefore).map((h) => h.split(' ')[1])).toEqual(['/ok', '/ok']);
  });

  it('queues requests beyond its connection limit', async () => {
    fresh();
    const all = await Promise.all(Array.from({ length: 12 }, () => send(pools, up.port, '/ok')));
    expect(all.every((o) => o.status === 200 && o.body === 'ok')).toBe(true);
    expect(up.connections).toBe(LIMITS.connections);
  });
});

describe('upstream protocol failures through the edge', () => {
  let up: RawUpstream;
  let edge: Edge;

  beforeAll(async () => {
    up = await new RawUpstream((head, socket) => {
      const [, path] = head.split(' ');
      if (path === '/bad-status') socket.write('HTTP/1.1 abc\r\n\r\n');
      else if (path === '/cut') {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
        setImmediate(() => socket.destroy());
      } else if (path === '/smuggle') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
      else socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${head.length}\r\n\r\n${head}`);
    }).start();
    edge = await startEdge(`
apis:
  - name: raw
    routes:
      ANY /{proxy+}: { integration: { type: http_proxy, uri: "http://127.0.0.1:${up.port}/{proxy}", requestHeaders: { X-Static: fixed, X-Id: "\${context.requestId}" } } }
`);
  });

  afterAll(async () => {
    await edge?.stop(1000);
    await up?.close();
  });

  it('answers 502 to a bad status line and to an ambiguous framing', async () => {
    for (const path of ['/bad-status', '/smuggle']) {
      const r = await rawRequest(edge.port, { path });
      expect(r.status).toBe(502);
      expect(json(r)).toEqual({ message: 'Internal server error' });
    }
  });

  it('cuts the client connection when the upstream closes mid-body', async () => {
    const r = await rawRequest(edge.port, { path: '/cut' }).catch((e: Error) => e);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toMatch(/aborted|ECONNRESET|socket hang up/);
  });

  it('sends one head with the host, the constant and per-request configured headers and the body length', async () => {
    const r = await rawRequest(edge.port, { method: 'POST', path: '/echo?q=1', headers: { 'content-length': '5', 'x-client': 'c' }, body: 'hello' });
    expect(r.status).toBe(200);
    const lines = r.body.toString('latin1').split('\r\n');
    expect(lines[0]).toBe('POST /echo?q=1 HTTP/1.1');
    expect(lines[1]).toBe(`host: 127.0.0.1:${up.port}`);
    expect(lines).toContain('x-client: c');
    expect(lines).toContain('x-static: fixed');
    expect(lines).toContain(`x-id: ${r.headers['x-amzn-requestid']}`);
    expect(lines.filter((l) => l.toLowerCase().startsWith('content-length:'))).toEqual(['content-length: 5']);
  });
});
