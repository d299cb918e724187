import { connect, type Socket } from 'node:net';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One response as it appeared on the wire, header names in the case they were sent. */
export interface WireResponse {
  status: number;
  /** The status line, e.g. `HTTP/1.1 200 OK`. */
  statusLine: string;
  /** [name, value] pairs, names as sent. */
  headers: [string, string][];
  body: Buffer;
}

export function header(r: WireResponse, name: string): string | undefined {
  return r.headers.find(([k]) => k.toLowerCase() === name)?.[1];
}

/**
 * Parses complete responses from `buf`; returns them and the bytes that remain. Knows interim 1xx,
 * Content-Length and chunked bodies (what the edge sends); a response to HEAD is not asked of it.
 */
export function parseResponses(buf: Buffer): { responses: WireResponse[]; rest: Buffer } {
  const responses: WireResponse[] = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) break;
    const lines = buf.subarray(off, end).toString('latin1').split('\r\n');
    const statusLine = lines[0] ?? '';
    const status = Number(statusLine.split(' ')[1]);
    const headers = lines.slice(1).map((l): [string, string] => {
      const c = l.indexOf(':');
      return [l.slice(0, c), l.slice(c + 1).trim()];
    });
    let pos = end + 4;
    let body: Buffer = Buffer.alloc(0);
    const te = headers.find(([k]) => k.toLowerCase() === 'transfer-encoding')?.[1];
    const cl = headers.find(([k]) => k.toLowerCase() === 'content-length')?.[1];
    if (status >= 100 && status < 200) {
      // interim: no body
    } else if (te?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      let complete = false;
      for (;;) {
        const nl = buf.indexOf('\r\n', pos);
        if (nl < 0) break;
        const size = parseInt(buf.subarray(pos, nl).toString('latin1'), 16);
        if (buf.length < nl + 2 + size + 2) break;
        if (size === 0) {
          const tEnd = buf.indexOf('\r\n', nl + 2);
          if (tEnd < 0) break;
          pos = tEnd + 2;
          complete = true;
          break;
        }
        parts.push(buf.subarray(nl + 2, nl + 2 + size));
        pos = nl + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(parts);
    } else {
      const n = Number(cl ?? 0);
      if (buf.length < pos + n) break;
      body = buf.subarray(pos, pos + n);
      pos += n;
    }
    responses.push({ status, statusLine, headers, body });
    off = pos;
  }
  return { responses, rest: buf.subarray(off) };
}

/** A raw TCP connection to the server under test, collecting what it answers. */
export class RawConnection {
  private readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  readonly ready: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.socket.on('error', () => {
      /* a reset by the server counts as closed */
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private change(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Writes `bytes`, resolving once the kernel has them. */
  write(bytes: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  /** Resolves with the first `n` final (non-1xx) responses, or fewer if the server closes first. */
  async responses(n: number, timeoutMs = 5000): Promise<WireResponse[]> {
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      this.wake();
    }, timeoutMs);
    try {
      for (;;) {
        const all = parseResponses(this.buf).responses;
        if (all.filter((r) => r.status >= 200).length >= n || this.closed || timedOut) return all;
        await this.change();
      }
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Resolves with the responses so far once one has `status`, or null if none has within `timeoutMs`. */
  async waitForStatus(status: number, timeoutMs = 5000): Promise<WireResponse[] | null> {
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      this.wake();
    }, timeoutMs);
    try {
      for (;;) {
        const all = parseResponses(this.buf).responses;
        if (all.some((r) => r.status === status)) return all;
        if (this.closed || timedOut) return null;
        await this.change();
      }
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Resolves true once the server has closed the connection, false if it is still open after `timeoutMs`. */
  async closedWithin(timeoutMs = 2000): Promise<boolean> {
    if (this.closed) return true;
    const timer = setTimeout(() => this.wake(), timeoutMs);
    await this.change();
    clearTimeout(timer);
    return this.closed;
  }

  /** Every byte received so far, for failure messages. */
  received(): string {
    return this.buf.toString('latin1');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** What the recording upstream saw of one request. */
export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** False when the request was cut off before its body ended (the edge aborted it). */
  complete: boolean;
}

/**
 * A real HTTP upstream that records every request it receives and answers 200 with the body length.
 * `/slow/...` answers on the next macrotask turn, so responses to pipelined requests come back out of
 * the order their upstream calls started in unless the edge keeps order.
 */
export class RecordingUpstream {
  readonly seen: Recorded[] = [];
  private server!: Server;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      const rec: Recorded = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.alloc(0), complete: false };
      this.seen.push(rec);
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        rec.body = Buffer.concat(chunks);
        rec.complete = true;
        const answer = () => {
          res.setHeader('content-type', 'application/json');
          res.setHeader('X-Upstream-Case', 'Mixed');
          res.end(JSON.stringify({ url: req.url, bodyLength: rec.body.length, body: rec.body.toString('latin1') }));
        };
        if (req.url!.startsWith('/slow')) setTimeout(answer, 20);
        else answer();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Requests whose body arrived in full. */
  completed(): Recorded[] {
    return this.seen.filter((r) => r.complete);
  }

  reset(): void {
    this.seen.length = 0;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
