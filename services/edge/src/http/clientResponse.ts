import type { HttpResponse, RecognizedString } from 'uWebSockets.js';
import { peerAddress } from './peerAddress.js';

/** Told once when the client went away before the response was finished. */
export interface ResponseOwner {
  responseAborted(): void;
}

const OPEN = 0;
/** The response was ended (end, endWithoutBody, a finishing tryEnd): uWS has discarded the native object. */
const ENDED = 1;
/** The client disconnected or the connection was closed: uWS has discarded the native object. */
const GONE = 2;

const NOTHING_WRITTEN: [boolean, boolean] = [false, false];

/**
 * The only place the edge's HTTP request path touches a uWS `HttpResponse`.
 *
 * uWS invalidates the native response as soon as it is ended or aborted; any later call throws ("Invalid
 * access of discarded uWS.HttpResponse"), and a throw inside a uWS callback ends the process. Request
 * code runs on events that can arrive after either (body chunks, upstream bytes, timers), so every call
 * here checks one state flag first and does nothing once the response is finished: a late write is a
 * no-op, never a crash. The state changes only here, so it cannot drift from what uWS did.
 */
export class ClientResponse {
  private state = OPEN;
  private paused = false;
  /** Hears about an abort; set once the request has a context. */
  owner: ResponseOwner | null = null;

  /** Call in the synchronous part of the uWS handler: uWS requires an abort handler or an answer. */
  constructor(private readonly res: HttpResponse) {
    res.onAborted(() => {
      this.state = GONE;
      this.owner?.responseAborted();
    });
  }

  /** The client's address (valid only in the handler's synchronous part, like the request itself). */
  remoteAddress(): string {
    return peerAddress(this.res);
  }

  /** True until the response is ended or the connection is gone. */
  get open(): boolean {
    return this.state === OPEN;
  }

  /** Runs `fn` corked (one syscall for everything it writes), if the response is still open. */
  cork(fn: () => void): void {
    if (this.state === OPEN) this.res.cork(fn);
  }

  writeStatus(line: string): void {
    if (this.state === OPEN) this.res.writeStatus(line);
  }

  writeHeader(name: string, value: RecognizedString): void {
    if (this.state === OPEN) this.res.writeHeader(name, value);
  }

  /** A chunk of a response without declared length; false when uWS buffered it (wait for onWritable). */
  write(chunk: RecognizedString): boolean {
    return this.state === OPEN ? this.res.write(chunk) : true;
  }

  end(body: RecognizedString = '', closeConnection = false): void {
    if (this.state !== OPEN) return;
    this.unpauseBeforeEnd();
    this.state = ENDED;
    this.res.end(body, closeConnection);
  }

  /**
   * Ends without a body. Arguments are passed on only when given: uWS writes a bogus
   * `content-length: 9223372036854775808` for an explicit undefined length.
   */
  endWithoutBody(reportedLength?: number, closeConnection = false): void {
    if (this.state !== OPEN) return;
    this.unpauseBeforeEnd();
    this.state = ENDED;
    if (reportedLength === undefined) {
      if (closeConnection) this.res.endWithoutBody(0, true);
      else this.res.endWithoutBody();
    } else {
      this.res.endWithoutBody(reportedLength, closeConnection);
    }
  }

  /** uWS's tryEnd: [whether the chunk was taken, whether the response is now complete]. */
  tryEnd(chunk: RecognizedString, totalSize: number): [boolean, boolean] {
    if (this.state !== OPEN) return NOTHING_WRITTEN;
    if (this.paused && this.res.getWriteOffset() + byteLength(chunk) >= totalSize) this.unpauseBeforeEnd();
    const r = this.res.tryEnd(chunk, totalSize);
    if (r[1]) this.state = ENDED;
    return r;
  }

  getWriteOffset(): number {
    return this.state === OPEN ? this.res.getWriteOffset() : 0;
  }

  /** `handler` runs when the socket drains; it is never called after the response is finished. */
  onWritable(handler: (offset: number) => boolean): void {
    if (this.state === OPEN) this.res.onWritable(handler);
  }

  /** Cuts the connection (the owner hears about it through responseAborted, as for a client abort). */
  close(): void {
    if (this.state !== OPEN) return;
    this.unpauseBeforeEnd();
    this.state = GONE;
    this.res.close();
  }

  /** Request body chunks; registered in the synchronous part of the handler (uWS drops unclaimed data). */
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): void {
    if (this.state === OPEN) this.res.onData(handler);
  }

  /** Stops reading the client's socket (backpressure on a request body). */
  pause(): void {
    if (this.state !== OPEN || this.paused) return;
    this.paused = true;
    this.res.pause();
  }

  resume(): void {
    if (this.state !== OPEN || !this.paused) return;
    this.paused = false;
    this.res.resume();
  }

  /**
   * A socket paused for request-body backpressure would stay paused after the response ends (the rest of
   * the body never read, the connection stuck): it is resumed while the response object is still valid.
   */
  private unpauseBeforeEnd(): void {
    if (this.paused) {
      this.paused = false;
      this.res.resume();
    }
  }
}

function byteLength(chunk: RecognizedString): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
}
