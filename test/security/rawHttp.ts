import { connect, type Socket } from 'node:net';

/**
 * Raw HTTP/1.1 over node:net, for the security suite: a test writes exactly the bytes it means (bad
 * framing, oversize heads, trickled bodies) and sees exactly what comes back, including whether the
 * server closed the connection. No HTTP client library normalizes anything on the way.
 */

export interface RawAnswer {
  status: number;
  /** Lowercased header names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: Buffer;
}

/** One client connection that reads responses off the wire as they arrive. */
export class RawConnection {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  /** Set once the server closed or reset the connection. */
  closed = false;
  closeError: Error | null = null;
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.closedPromise = new Promise((resolve) => {
      socket.on('error', (err) => (this.closeError = err));
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host, () => {
        s.off('error', reject);
        resolve(new RawConnection(s));
      });
      s.once('error', reject);
    });
  }

  /** Writes bytes; resolves when the kernel took them (false: the server is gone). */
  write(data: string | Buffer): Promise<boolean> {
    if (this.closed || this.socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.write(data, (err) => resolve(!err)));
  }

  /** Writes `total` bytes of filler in `chunk`-sized writes, stopping quietly if the server closes. */
  async writeFiller(total: number, chunk = 64 * 1024): Promise<number> {
    const block = Buffer.alloc(chunk, 0x61);
    let sent = 0;
    while (sent < total && !this.closed) {
      const n = Math.min(chunk, total - sent);
      if (!(await this.write(n === chunk ? block : block.subarray(0, n)))) break;
      sent += n;
    }
    return sent;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async more(deadline: number): Promise<void> {
    if (this.closed) throw new Error(`connection closed (${this.closeError?.message ?? 'FIN'}) with ${this.buf.length} unparsed bytes: ${this.buf.toString('latin1').slice(0, 200)}`);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no complete response within the deadline; have: ${this.buf.toString('latin1').slice(0, 200)}`)), Math.max(1, deadline - Date.now()));
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Reads the next response (content-length or chunked framing; a HEAD answer has no body). */
  async readResponse(opts: { head?: boolean; timeoutMs?: number } = {}): Promise<RawAnswer> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    let end: number;
    while ((end = this.buf.indexOf('\r\n\r\n')) < 0) await this.more(deadline);
    const head = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? NaN);
    if (!Number.isInteger(status)) throw new Error(`not an HTTP response: ${head[0]}`);
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const c = line.indexOf(':');
      const k = line.slice(0, c).trim().toLowerCase();
      const v = line.slice(c + 1).trim();
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    let pos = end + 4;
    let body: Buffer;
    if (opts.head || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      body = Buffer.alloc(0);
    } else if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const parts: Buffer[] = [];
      for (;;) {
        let lineEnd: number;
        while ((lineEnd = this.buf.indexOf('\r\n', pos)) < 0) await this.more(deadline);
        const size = parseInt(this.buf.subarray(pos, lineEnd).toString('latin1'), 16);
        while (this.buf.length < lineEnd + 2 + size + 2) await this.more(deadline);
        parts.push(Buffer.from(this.buf.subarray(lineEnd + 2, lineEnd + 2 + size)));
        pos = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else {
      const len = Number(headers['content-length'] ?? 0);
      while (this.buf.length < pos + len) await this.more(deadline);
      body = Buffer.from(this.buf.subarray(pos, pos + len));
      pos += len;
    }
    this.buf = this.buf.subarray(pos);
    return { status, headers, body };
  }

  /**
   * Resolves true if the server closes the connection within `ms` (after any response bytes), false if
   * it is still open then. Bytes that arrive meanwhile stay readable.
   */
  async closesWithin(ms: number): Promise<boolean> {
    if (this.closed) return true;
    const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), ms).unref());
    return Promise.race([this.closedPromise.then(() => true as const), timer]);
  }

  /** Bytes received and not parsed as a response yet. */
  get unread(): Buffer {
    return this.buf;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A request head: request line, `Host` and the given headers, CRLF-terminated. */
export function requestHead(method: string, target: string, headers: Record<string, string | number> = {}, host = 'localhost'): string {
  let out = `${method} ${target} HTTP/1.1\r\n`;
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'host')) out += `Host: ${host}\r\n`;
  for (const [k, v] of Object.entries(headers)) out += `${k}: ${v}\r\n`;
  return out + '\r\n';
}

/** Sends one request on a fresh connection and reads its answer; the connection is left open. */
export async function exchange(port: number, bytes: string | Buffer, opts: { head?: boolean; timeoutMs?: number } = {}): Promise<{ conn: RawConnection; answer: RawAnswer }> {
  const conn = await RawConnection.open(port);
  await conn.write(bytes);
  const answer = await conn.readResponse(opts);
  return { conn, answer };
}
