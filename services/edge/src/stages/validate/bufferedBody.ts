import { Readable } from 'node:stream';
import type { RequestBody } from '../../http/requestBody.js';

/**
 * A request body already read whole (the validator needs it before the integration), readable again by
 * the integration as a stream (http_proxy) or at once (`readAll`), as a RequestBody is.
 */
class BufferedBody extends Readable {
  readonly complete = true;
  readonly received: number;

  constructor(private readonly buf: Buffer) {
    super();
    this.received = buf.byteLength;
    if (buf.byteLength > 0) this.push(buf);
    this.push(null);
  }

  override _read(): void {}

  readAll(): Promise<Buffer> {
    return Promise.resolve(this.buf);
  }
}

/** Typed as the RequestBody it replaces: every consumer uses only the Readable side, `complete`, `received` and `readAll`. */
export function bufferedBody(buf: Buffer): RequestBody {
  return new BufferedBody(buf) as unknown as RequestBody;
}
