import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

/** What a buffered upstream exchange ends with: the upstream's answer, or why there is none. */
export interface BufferedResult {
  answered(statusCode: number, headers: IncomingHttpHeaders, body: string): void;
  failed(err: Error): void;
}

/**
 * The upstream side of a non-proxy `http` integration: an undici dispatch handler that collects the
 * response, which is mapped as a whole. It replaces `agent.request()` + `body.text()`, whose Readable
 * body stream, promise chain and consumer cost more per request than the exchange itself needs.
 * The body is decoded as `body.text()` decodes it: UTF-8, a byte order mark skipped.
 */
export class BufferedExchange implements Dispatcher.DispatchHandler {
  private statusCode = 0;
  private headers: IncomingHttpHeaders = {};
  private readonly chunks: Buffer[] = [];
  private length = 0;

  constructor(private readonly result: BufferedResult) {}

  /** undici takes a handler with onRequestStart for one of its controller-based (v7) handlers. */
  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx informational: the final response follows.
    this.statusCode = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  onResponseEnd(): void {
    const c = this.chunks;
    const body = c.length > 1 ? Buffer.concat(c, this.length) : (c[0] ?? EMPTY);
    const start = body.length > 2 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
    this.result.answered(this.statusCode, this.headers, body.toString('utf8', start));
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.result.failed(err);
  }
}

const EMPTY = Buffer.alloc(0);
