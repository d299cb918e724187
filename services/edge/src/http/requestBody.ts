import { Readable } from 'node:stream';
import type { ClientResponse } from './clientResponse.js';

/** Raised when a body grows past `gateway.maxBodyBytes`; the edge answers 413 and closes. */
export class BodyTooLargeError extends Error {
  readonly code = 'TP_BODY_TOO_LARGE';
}

/** Raised when a body is not received within `gateway.bodyTimeoutMs`; the edge answers 408 and closes. */
export class BodyTimeoutError extends Error {
  readonly code = 'TP_BODY_TIMEOUT';
}

/** Raised to whoever still waits for a body the request no longer needs (the response was sent). */
export class BodyDiscardedError extends Error {
  readonly code = 'TP_BODY_DISCARDED';
}

/** The request-body bounds of one config snapshot (`gateway.maxBodyBytes`, `bodyBufferBytes`, `bodyTimeoutMs`). */
export interface BodyLimits {
  readonly maxBytes: number;
  readonly bufferBytes: number;
  readonly timeoutMs: number;
}

/** Who answers the client when the body goes wrong (the request's context). */
export interface BodyOwner {
  bodyTooLarge(err: BodyTooLargeError): void;
  bodyTimedOut(err: BodyTimeoutError): void;
  /** An exception escaped while handling a body event: it belongs to this request, never the process. */
  bodyFailed(err: unknown): void;
}

export type BodyReadyCallback = (err: Error | null) => void;

/**
 * A request body read from uWS in two phases.
 *
 * 1. Buffering: chunks are held in memory, without pausing the socket, until the body is complete or
 *    holds more than `bufferBytes` (API Gateway buffers up to its 10 MB limit). Integrations wait for
 *    this (`whenReady`) before they take anything scarce, such as an upstream pool connection, so a
 *    client trickling its body ties up nothing but its own socket. `timeoutMs` bounds this phase (408).
 * 2. Streaming, only for bodies over `bufferBytes`: the held chunks and the rest flow through this
 *    Readable with backpressure (the socket is paused past one 64 KB high-water mark).
 *
 * It must be attached in the synchronous part of the request handler (uWS drops data nobody listens
 * for). Once the request no longer needs it (`discard`: the response was sent early, or the client went
 * away) further chunks are counted and dropped; uWS's own framing keeps consuming them as this
 * request's body, so they can never be read as a next request.
 */
export class RequestBody extends Readable {
  received = 0;
  complete = false;
  /** Chunks held while buffering; null once streaming or discarded. */
  private held: Buffer[] | null = [];
  private waiter: BodyReadyCallback | null = null;
  /** undefined while buffering; null once ready; the error if the body failed first. */
  private outcome: Error | null | undefined = undefined;
  private timer: NodeJS.Timeout | null = null;
  private paused = false;

  constructor(
    private readonly res: ClientResponse,
    private readonly limits: BodyLimits,
    private readonly owner: BodyOwner,
  ) {
    super({ highWaterMark: 64 * 1024 });
    // The owner answers every failure; an 'error' nobody listens for (no reader yet) must not end the process.
    this.on('error', ignore);
    res.onData((chunk, isLast) => {
      try {
        this.onChunk(chunk, isLast);
      } catch (err) {
        owner.bodyFailed(err);
      }
    });
    if (limits.timeoutMs > 0) this.timer = setTimeout(bodyTimedOut, limits.timeoutMs, this);
  }

  /**
   * Calls `cb` once: with null when the body is complete (`buffered()`), or is being streamed because it is
   * over the buffer bound (read this Readable); with the error if it failed or was discarded first.
   */
  whenReady(cb: BodyReadyCallback): void {
    if (this.outcome !== undefined) cb(this.outcome);
    else this.waiter = cb;
  }

  /** The whole body when it is complete and held in memory; null when it is (being) streamed instead. */
  buffered(): Buffer | null {
    const held = this.held;
    if (held === null || !this.complete) return null;
    const [first] = held;
    if (first === undefined) return EMPTY;
    if (held.length === 1) return first;
    const whole = Buffer.concat(held);
    this.held = [whole];
    return whole;
  }

  /**
   * The whole body in memory, for stages and integrations that need it so (request validation, function
   * events, SigV4). A streamed body read this way is held afterwards, so a later reader (the proxy after
   * a validator) gets it from `buffered()` instead of a consumed stream.
   */
  readAll(): Promise<Buffer> {
    return new Promise((resolve, reject) =>
      this.whenReady((err) => {
        if (err) reject(err);
        else
          resolve(
            this.buffered() ??
              collect(this).then((buf) => {
                this.held = [buf];
                return buf;
              }),
          );
      }),
    );
  }

  /** The request no longer needs its body: drop what is held and whatever still arrives. */
  discard(): void {
    if (this.destroyed) return;
    this.held = null;
    this.settle(new BodyDiscardedError('request body discarded: the response was already sent'));
    if (this.paused) {
      this.paused = false;
      this.res.resume();
    }
    this.destroy();
  }

  /** The body timer fired (a timer callback: nothing may escape it). */
  timedOut(): void {
    this.timer = null;
    if (this.outcome !== undefined || this.destroyed) return;
    try {
      const err = new BodyTimeoutError(`request body not received within ${this.limits.timeoutMs} ms`);
      this.held = null;
      this.settle(err);
      this.destroy(err);
      this.owner.bodyTimedOut(err);
    } catch (err) {
      this.owner.bodyFailed(err);
    }
  }

  private onChunk(chunk: ArrayBuffer, isLast: boolean): void {
    this.received += chunk.byteLength;
    if (isLast) this.complete = true;
    if (this.destroyed) return;
    if (this.received > this.limits.maxBytes) {
      const err = new BodyTooLargeError(`request body exceeds ${this.limits.maxBytes} bytes`);
      this.held = null;
      this.settle(err);
      this.destroy(err);
      this.owner.bodyTooLarge(err);
      return;
    }
    // uWS neuters the ArrayBuffer when this callback returns, so the bytes are copied.
    const held = this.held;
    if (held !== null && this.outcome === undefined) {
      if (chunk.byteLength > 0) held.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) this.settle(null);
      else if (this.received > this.limits.bufferBytes) this.startStreaming(held);
      return;
    }
    if (chunk.byteLength > 0 && !this.push(Buffer.from(new Uint8Array(chunk))) && !isLast) this.pauseSocket();
    if (isLast) this.push(null);
  }

  private startStreaming(held: Buffer[]): void {
    this.held = null;
    let room = true;
    for (const c of held) room = this.push(c);
    if (!room) this.pauseSocket();
    this.settle(null);
  }

  private pauseSocket(): void {
    this.paused = true;
    this.res.pause();
  }

  private settle(outcome: Error | null): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const w = this.waiter;
    this.waiter = null;
    if (w !== null) w(outcome);
  }

  override _read(): void {
    if (this.paused) {
      this.paused = false;
      this.res.resume();
    }
  }
}

const EMPTY = Buffer.alloc(0);

function ignore(): void {}

function bodyTimedOut(body: RequestBody): void {
  body.timedOut();
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  const [first] = chunks;
  return chunks.length === 1 && first !== undefined ? first : Buffer.concat(chunks);
}
