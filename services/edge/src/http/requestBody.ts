import { Readable } from 'node:stream';
import type { HttpResponse } from 'uWebSockets.js';

/** Raised when a body grows past the configured limit; the edge answers 413. */
export class BodyTooLargeError extends Error {
  readonly code = 'TP_BODY_TOO_LARGE';
}

/**
 * A request body as a Readable fed by uWS. It must be attached in the synchronous part of the request
 * handler (uWS drops data nobody listens for), and buffers at most one high-water mark before pausing
 * the socket, so a 50 MB upload is never held whole: the consumer's reads resume it.
 */
export class RequestBody extends Readable {
  received = 0;
  complete = false;
  private paused = false;

  constructor(
    private readonly res: HttpResponse,
    private readonly limit: number,
    private readonly onTooLarge: () => void,
  ) {
    super({ highWaterMark: 64 * 1024 });
    res.onData((chunk, isLast) => this.onChunk(chunk, isLast));
  }

  private onChunk(chunk: ArrayBuffer, isLast: boolean): void {
    if (this.destroyed) return;
    this.received += chunk.byteLength;
    if (this.received > this.limit) {
      this.destroy(new BodyTooLargeError(`request body exceeds ${this.limit} bytes`));
      this.onTooLarge();
      return;
    }
    // uWS neuters the ArrayBuffer when this callback returns, so the bytes are copied.
    if (chunk.byteLength > 0 && !this.push(Buffer.from(new Uint8Array(chunk))) && !isLast) {
      this.paused = true;
      this.res.pause();
    }
    if (isLast) {
      this.complete = true;
      this.push(null);
    }
  }

  override _read(): void {
    if (this.paused) {
      this.paused = false;
      this.res.resume();
    }
  }

  /** The whole body in memory, for integrations that need it so (function events). */
  async readAll(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of this) chunks.push(c as Buffer);
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }
}
