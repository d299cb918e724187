import { close, mkdirSync, openSync, write } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Appends access-log lines to stdout or a file without ever blocking the event loop: each line is
 * encoded into a 256 KB chunk as it comes, and chunks are written by the thread pool (fs.write) when
 * full or every 200 ms, one write in flight at a time. If the destination cannot keep up and
 * `maxBufferedBytes` are waiting, new lines are dropped and counted, rather than letting memory grow
 * without bound or stalling requests.
 *
 * Not sonic-boom (pino's writer): it measures the byte length of its whole pending chunk on every
 * write, which at one line per request cost more than formatting the line.
 */
export interface AccessLogWriterOptions {
  /** `stdout` or a file path (relative paths against `baseDir`); a file's directory is created, and it is opened at once. */
  destination: string;
  baseDir?: string;
  maxBufferedBytes?: number;
  /** Told how many lines were dropped, as they are dropped (metrics). */
  onDrop?: (lines: number) => void;
  /** Told when a write fails (the lines in that write are lost; later ones are tried again). */
  onError?: (err: Error) => void;
}

/** Lines are encoded into chunks of this size as they come; a full chunk is one fs.write. */
const CHUNK_BYTES = 256 * 1024;
const FLUSH_INTERVAL_MS = 200;

/** The destination cannot be opened: a configuration error, reported when the service starts. */
export class AccessLogDestinationError extends Error {
  readonly code = 'TP_ACCESS_LOG_DESTINATION';
}

export class AccessLogWriter {
  private fd: number;
  private readonly ownsFd: boolean;
  /** The chunk being filled, and how much of it is. Encoding at once lets each line's string die young. */
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  /** Filled chunks waiting for the destination, oldest first. */
  private queue: Buffer[] = [];
  private queued = 0;
  private writing = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly maxBuffered: number;
  private idle: (() => void) | null = null;
  dropped = 0;

  constructor(private readonly opts: AccessLogWriterOptions) {
    this.maxBuffered = opts.maxBufferedBytes ?? 64 * 1024 * 1024;
    if (opts.destination === 'stdout') {
      this.fd = 1;
      this.ownsFd = false;
    } else {
      const file = resolve(opts.baseDir ?? process.cwd(), opts.destination);
      try {
        mkdirSync(dirname(file), { recursive: true });
        this.fd = openSync(file, 'a');
      } catch (err) {
        throw new AccessLogDestinationError(`access log destination ${file} cannot be opened: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      this.ownsFd = true;
    }
    this.timer = setInterval(() => {
      this.seal();
      this.flush();
    }, FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  write(line: string): void {
    if (this.closed) return;
    if (this.queued > this.maxBuffered) {
      this.dropped++;
      this.opts.onDrop?.(1);
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit; a line that might not fit starts a new chunk.
    const worst = line.length * 3 + 1;
    if (this.used + worst > CHUNK_BYTES) {
      this.seal();
      if (worst > CHUNK_BYTES) {
        this.enqueue(Buffer.from(line + '\n'));
        this.flush();
        return;
      }
    }
    this.used += this.chunk.write(line, this.used);
    this.chunk[this.used++] = 10;
    if (this.queue.length > 0 && !this.writing) this.flush();
  }

  /** Moves what the current chunk holds to the queue. */
  private seal(): void {
    if (this.used === 0) return;
    this.enqueue(this.chunk.subarray(0, this.used));
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
  }

  private enqueue(b: Buffer): void {
    this.queue.push(b);
    this.queued += b.length;
  }

  private flush(): void {
    if (this.writing) return;
    const [first] = this.queue;
    if (first === undefined) {
      this.idle?.();
      return;
    }
    const data = this.queue.length === 1 ? first : Buffer.concat(this.queue);
    this.queue = [];
    this.queued = 0;
    this.writing = true;
    this.writeAll(this.fd, data, 0);
  }

  private writeAll(fd: number, data: Buffer, offset: number): void {
    write(fd, data, offset, data.length - offset, null, (err, n) => {
      if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') {
        // A non-blocking stdout pipe is full: try again shortly, keeping the order of lines.
        setTimeout(() => this.writeAll(fd, data, offset), 10);
        return;
      }
      if (!err && offset + n < data.length) return this.writeAll(fd, data, offset + n);
      this.writing = false;
      if (err) this.opts.onError?.(err);
      this.flush();
    });
  }


  /** Writes out everything buffered, then closes the file (stdout stays open for the rest of the process). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.seal();
    await new Promise<void>((done) => {
      this.idle = done;
      this.flush();
    });
    if (this.ownsFd) await new Promise<void>((done) => close(this.fd, () => done()));
  }
}
