import { connect, type Socket } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { ResponseParser, type ResponseSink } from './responseParser.js';
import { TurnWrites, type DeferredWrite } from './turnWrites.js';

/** Pool limits; `edge.ts` gives the lean client the same ones as its undici Agent. */
export interface UpstreamPoolLimits {
  /** Sockets per origin; requests queue beyond it. */
  readonly connections: number;
  /** How long an idle socket is kept when the upstream gives no Keep-Alive hint. */
  readonly keepAliveTimeoutMs: number;
  /** Upper bound on an upstream's Keep-Alive `timeout=` hint. */
  readonly keepAliveMaxTimeoutMs: number;
  /** Response head (status line + headers) and trailer size limit. */
  readonly maxHeadBytes: number;
  readonly connectTimeoutMs: number;
}

/** An upstream's Keep-Alive hint is trusted to this much less than it says (undici's threshold). */
const KEEP_ALIVE_MARGIN_MS = 2000;
/** How often idle sockets, connect timeouts and body idle timeouts are checked. */
const SWEEP_MS = 1000;
/** Upstream reads land in one buffer per edge (Node's default read size): no allocation per read. */
const READ_BUFFER_BYTES = 64 * 1024;

class UpstreamSocketError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * The lean HTTP/1.1 client of the plain `http_proxy` path (docs/edge.md, "Upstream connections"):
 * keep-alive sockets per `http:` origin, one request at a time per socket, the request head written as
 * one latin1 string (the caller serializes it, mostly from a per-route prefix) with its in-memory body,
 * at the end of the event-loop turn with the turn's other requests (TurnWrites), and the response
 * parsed by `ResponseParser` and streamed to an undici-shaped `DispatchHandler` (ProxyExchange) with
 * pause/resume backpressure. TLS upstreams and streamed request bodies stay on undici.
 */
export class UpstreamPools {
  private readonly origins = new Map<string, OriginPool>();
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;
  /**
   * Every upstream socket's reads, parsed before the next read can happen: whatever must outlive the
   * read (a split head, bytes held while paused) is copied, and ProxyExchange copies a chunk it keeps.
   */
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private readonly writes = new TurnWrites();

  constructor(private readonly limits: UpstreamPoolLimits) {}

  /** The pool of an `http://host:port` origin (kept for the edge's life; routes look theirs up once). */
  pool(origin: string): OriginPool {
    let p = this.origins.get(origin);
    if (p === undefined) {
      const url = new URL(origin);
      if (url.protocol !== 'http:') throw new Error(`the lean upstream client serves http: origins only, not ${origin}`);
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      p = new OriginPool(host, Number(url.port || 80), url.host, this.limits, this.readBuffer, this.writes);
      this.origins.set(origin, p);
      if (this.sweeper === null && !this.closed) {
        this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
        this.sweeper.unref();
      }
    }
    return p;
  }

  /** Open sockets over all origins (the `upstreamSockets` gauge). */
  get openSockets(): number {
    let n = 0;
    for (const p of this.origins.values()) n += p.open;
    return n;
  }

  private sweep(): void {
    const now = performance.now();
    for (const p of this.origins.values()) p.sweep(now);
  }

  /** Closes every socket; requests still running fail (the edge drains before it closes). */
  close(): void {
    this.closed = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const p of this.origins.values()) p.close();
  }
}

/** One request on its way: the controller its handler pauses, resumes and aborts. */
class UpstreamRequest implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  /** The connection carrying it, once it has one. */
  conn: Connection | null = null;

  constructor(
    readonly pool: OriginPool,
    readonly head: string,
    readonly body: Buffer | null,
    readonly noBody: boolean,
    readonly bodyTimeoutMs: number,
    readonly handler: Dispatcher.DispatchHandler,
  ) {}

  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const conn = this.conn;
    if (conn !== null) conn.drop(this);
    else this.pool.unqueue(this);
    this.handler.onResponseError?.(this, reason);
  }

  pause(): void {
    if (this.paused || this.aborted) return;
    this.paused = true;
    this.conn?.socket.pause();
  }

  resume(): void {
    if (!this.paused || this.aborted) return;
    this.paused = false;
    this.conn?.resumeReading();
  }
}

/** The keep-alive sockets of one upstream origin and the requests waiting for one. */
export class OriginPool {
  private readonly idle: Connection[] = [];
  private readonly queue: UpstreamRequest[] = [];
  readonly all = new Set<Connection>();

  constructor(
    readonly host: string,
    readonly port: number,
    /** The Host header value: host[:port], as the origin names it. */
    readonly hostHeader: string,
    readonly limits: UpstreamPoolLimits,
    readonly readBuffer: Buffer,
    readonly writes: TurnWrites,
  ) {}

  get open(): number {
    return this.all.size;
  }

  /**
   * Sends one request. `head` is the whole request head (request line to the blank line, latin1);
   * `noBody` for HEAD (the response has no body whatever it declares). The handler gets
   * onRequestStart now and the response (or its failure) later.
   */
  request(head: string, body: Buffer | null, noBody: boolean, bodyTimeoutMs: number, handler: Dispatcher.DispatchHandler): void {
    const req = new UpstreamRequest(this, head, body, noBody, bodyTimeoutMs, handler);
    handler.onRequestStart?.(req, null);
    if (req.aborted) return;
    const conn = this.idle.pop();
    if (conn !== undefined) conn.send(req);
    else if (this.all.size < this.limits.connections) new Connection(this).send(req);
    else this.queue.push(req);
  }

  unqueue(req: UpstreamRequest): void {
    const i = this.queue.indexOf(req);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** A connection finished its response and may carry the next request. */
  release(conn: Connection): void {
    const next = this.queue.shift();
    if (next !== undefined) conn.send(next);
    else this.idle.push(conn);
  }

  /** A connection is gone; a queued request gets a new one. */
  forget(conn: Connection): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    const next = this.queue.shift();
    if (next !== undefined) new Connection(this).send(next);
  }

  sweep(now: number): void {
    for (const conn of this.all) conn.check(now);
  }

  close(): void {
    for (const req of this.queue.splice(0)) req.abort(new UpstreamSocketError('upstream client closed', 'TP_UPSTREAM_CLOSED'));
    for (const conn of [...this.all]) conn.destroy(null);
  }
}

/** One keep-alive socket to an upstream, carrying one request at a time. */
class Connection implements ResponseSink, DeferredWrite {
  readonly socket: Socket;
  private readonly parser: ResponseParser;
  private req: UpstreamRequest | null = null;
  /** The request whose head waits for the end of the turn (TurnWrites). */
  private unsent: UpstreamRequest | null = null;
  private connected = false;
  private gone = false;
  /** Response bytes of the current read not parsed yet because the handler paused. */
  private stash: Buffer | null = null;
  /**
   * performance.now() deadline of the connect timeout, idle expiry or body idle timeout, set by the
   * first sweep after the state began (0 until then: no clock read per request; ±1 sweep is precise enough).
   */
  private deadline = 0;
  /** How long this connection may stay idle after its last response. */
  private keepMs = 0;
  /** Bytes read at the last sweep: a running response that read nothing for `bodyTimeoutMs` times out. */
  private lastBytesRead = 0;
  private started = false;
  /** Set when a response completes on a connection that may carry the next request. */
  private reusable = false;

  constructor(private readonly pool: OriginPool) {
    this.parser = new ResponseParser(pool.limits.maxHeadBytes);
    pool.all.add(this);
    const socket = connect({
      host: pool.host,
      port: pool.port,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
      onread: { buffer: pool.readBuffer, callback: (n: number, buf: Uint8Array) => (this.onData(buf as Buffer, n), true) },
    });
    this.socket = socket;
    socket.on('connect', () => this.onConnect());
    // Flowing from the start, so that the end of the stream is reported ('end') without a 'data' listener.
    socket.resume();
    socket.on('end', () => this.onEnd());
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy(null));
  }

  get paused(): boolean {
    const req = this.req;
    return req === null || req.paused || req.aborted;
  }

  send(req: UpstreamRequest): void {
    this.req = req;
    req.conn = this;
    this.started = false;
    this.reusable = false;
    if (this.connected) this.deadline = 0;
    this.parser.start(this, req.noBody);
    if (this.connected) this.write(req);
  }

  private write(req: UpstreamRequest): void {
    this.unsent = req;
    this.pool.writes.add(this);
  }

  writeDeferred(): void {
    const req = this.unsent;
    this.unsent = null;
    // Dropped (its client went away, its connection failed) before the turn ended: nothing to write.
    if (req === null || this.gone || this.req !== req) return;
    const socket = this.socket;
    const body = req.body;
    try {
      if (body === null || body.length === 0) socket.write(req.head, 'latin1');
      else {
        socket.cork();
        socket.write(req.head, 'latin1');
        socket.write(body);
        socket.uncork();
      }
    } catch (err) {
      // Outside any request's callback now: what throws fails this request (502), not the process.
      this.destroy(err as Error);
    }
  }

  private onConnect(): void {
    this.connected = true;
    const req = this.req;
    if (req !== null) {
      this.deadline = 0;
      this.write(req);
    }
  }

  private onData(buf: Buffer, n: number): void {
    const req = this.req;
    if (req === null || !this.parser.active) {
      // Bytes nobody asked for (after a complete response, or on an idle socket): this connection's
      // framing can no longer be trusted.
      this.destroy(null);
      return;
    }
    this.parse(req, n === buf.length ? buf : buf.subarray(0, n));
  }

  private parse(req: UpstreamRequest, chunk: Buffer): void {
    let at: number;
    try {
      at = this.parser.execute(chunk, 0);
    } catch (err) {
      this.fail(req, err as Error);
      return;
    }
    if (this.req !== req) {
      // The response completed inside `execute`: anything after it is garbage on a request-response
      // connection, and the socket is discarded rather than given to the next request.
      if (at < chunk.length) this.destroy(null);
      else if (this.reusable && !this.gone) this.pool.release(this);
      return;
    }
    // The read buffer is reused by the next read: bytes kept past this one are copied.
    if (at < chunk.length && !req.aborted) this.stash = Buffer.from(chunk.subarray(at));
  }

  resumeReading(): void {
    const stash = this.stash;
    const req = this.req;
    if (stash !== null && req !== null) {
      this.stash = null;
      this.parse(req, stash);
    }
    if (this.req === req && req !== null && !req.paused && !req.aborted) this.socket.resume();
  }

  private onEnd(): void {
    const req = this.req;
    if (req !== null && this.parser.active) {
      try {
        this.parser.finish();
      } catch (err) {
        this.fail(req, err as Error);
        return;
      }
    }
    this.destroy(null);
  }

  onHead(status: number, headers: IncomingHttpHeaders, statusText: string): void {
    const req = this.req!;
    this.started = true;
    req.handler.onResponseStart?.(req, status, headers, statusText);
  }

  onBody(chunk: Buffer): void {
    const req = this.req!;
    if (!req.aborted) req.handler.onResponseData?.(req, chunk);
  }

  onComplete(keepAlive: boolean): void {
    const req = this.req!;
    this.req = null;
    req.conn = null;
    const reusable = keepAlive && !req.aborted && !this.gone;
    // The pool gets it back in `parse`, once the rest of the read is known to be empty.
    this.reusable = reusable;
    if (reusable) {
      const hint = this.parser.keepAliveHintMs;
      const limits = this.pool.limits;
      const keep = hint < 0 ? limits.keepAliveTimeoutMs : Math.min(hint - KEEP_ALIVE_MARGIN_MS, limits.keepAliveMaxTimeoutMs);
      this.keepMs = keep;
      this.deadline = 0;
      if (keep <= 0) this.destroy(null);
    } else this.destroy(null);
    if (!req.aborted) req.handler.onResponseEnd?.(req, EMPTY_TRAILERS);
  }

  /** The request's handler aborted it: the socket goes with it (a partial response must not be reused). */
  drop(req: UpstreamRequest): void {
    if (this.req === req) {
      this.req = null;
      req.conn = null;
      this.parser.reset();
      this.destroy(null);
    }
  }

  private fail(req: UpstreamRequest, err: Error): void {
    this.req = null;
    req.conn = null;
    this.parser.reset();
    this.destroy(null);
    if (!req.aborted) {
      req.aborted = true;
      req.reason = err;
      req.handler.onResponseError?.(req, err);
    }
  }

  /** Called by the pool's sweep: connect timeout, idle expiry and the body idle timeout. */
  check(now: number): void {
    const req = this.req;
    if (this.deadline === 0) {
      this.deadline = now + (!this.connected ? this.pool.limits.connectTimeoutMs : req !== null ? req.bodyTimeoutMs : this.keepMs);
      this.lastBytesRead = this.socket.bytesRead;
      return;
    }
    if (now < this.deadline) return;
    if (req === null) return this.destroy(null);
    if (!this.connected) return this.fail(req, new UpstreamSocketError(`connect to ${this.pool.host}:${this.pool.port} timed out`, 'UND_ERR_CONNECT_TIMEOUT'));
    const read = this.socket.bytesRead;
    if (read !== this.lastBytesRead || req.paused) {
      // Bytes arrived (or the client is the slow side): the idle timeout starts over.
      this.lastBytesRead = read;
      this.deadline = now + req.bodyTimeoutMs;
      return;
    }
    this.fail(req, new UpstreamSocketError(`upstream sent nothing for ${req.bodyTimeoutMs} ms`, this.started ? 'UND_ERR_BODY_TIMEOUT' : 'UND_ERR_HEADERS_TIMEOUT'));
  }

  /** Closes the socket; a request still on it fails with `err` (or "other side closed"). */
  destroy(err: Error | null): void {
    if (!this.gone) {
      this.gone = true;
      this.socket.destroy();
      this.pool.forget(this);
    }
    const req = this.req;
    if (req !== null) this.fail(req, err ?? new UpstreamSocketError('upstream closed the connection', 'UND_ERR_SOCKET'));
  }
}

const EMPTY_TRAILERS: IncomingHttpHeaders = Object.freeze({}) as IncomingHttpHeaders;
