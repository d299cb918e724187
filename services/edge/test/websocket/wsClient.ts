import WebSocket from 'ws';

/** A real WebSocket client (the `ws` package) whose frames and close a test can await in order. */
export class TestClient {
  readonly messages: { data: Buffer; isBinary: boolean }[] = [];
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.messages.push({ data, isBinary });
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => {});
  }

  /** Connects; rejects with the HTTP status (and body) of a refused handshake. */
  static connect(url: string, opts: { headers?: Record<string, string>; localAddress?: string } = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: opts.headers, localAddress: opts.localAddress });
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => reject(Object.assign(new Error(`handshake refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  send(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** The next frame not yet taken, as text. */
  async next(timeoutMs = 5_000): Promise<string> {
    return (await this.nextFrame(timeoutMs)).data.toString();
  }

  private taken = 0;
  async nextFrame(timeoutMs = 5_000): Promise<{ data: Buffer; isBinary: boolean }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.messages[this.taken];
      if (frame !== undefined) {
        this.taken++;
        return frame;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms (got ${this.messages.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async json(timeoutMs?: number): Promise<Record<string, any>> {
    return JSON.parse(await this.next(timeoutMs)) as Record<string, any>;
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close(1000);
    return this.closed;
  }
}
