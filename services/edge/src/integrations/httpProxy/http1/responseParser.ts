import type { IncomingHttpHeaders } from 'node:http';

/** The upstream's bytes are not an HTTP/1.1 response this client accepts; the gateway answers 502. */
export class UpstreamProtocolError extends Error {
  readonly code = 'TP_UPSTREAM_PROTOCOL';
}

/** Where a parsed response goes (the connection that owns the parser). */
export interface ResponseSink {
  onHead(status: number, headers: IncomingHttpHeaders, statusText: string): void;
  onBody(chunk: Buffer): void;
  /** The response is complete; `keepAlive` says whether its connection may carry another request. */
  onComplete(keepAlive: boolean): void;
  /** Checked after every body chunk: a paused sink takes no more until `execute` is called again. */
  readonly paused: boolean;
}

const enum State {
  Head,
  Length,
  UntilClose,
  ChunkSize,
  ChunkExt,
  ChunkSizeLf,
  ChunkData,
  ChunkDataCr,
  ChunkDataLf,
  Trailer,
  TrailerLf,
  Done,
}

const CR = 13;
const LF = 10;
/** A chunk size line beyond this (digits + extensions) is refused: no upstream needs more. */
const MAX_CHUNK_LINE = 4096;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * The parsed header fields: an object without inherited keys (a header named `constructor` or
 * `__proto__` is an own property like any other) that V8 still keeps in fast mode, unlike
 * `Object.create(null)`'s dictionary.
 */
class HeaderFields {}
Object.setPrototypeOf(HeaderFields.prototype, null);
delete (HeaderFields.prototype as { constructor?: unknown }).constructor;
/**
 * Header names as upstreams spell them, by a hash of their characters -> validated, lowercased; bounded
 * (a name not kept, or sharing a hash with a kept one, is only slower).
 */
const NAMES = new Map<number, { readonly raw: string; readonly name: string }>();
const MAX_NAMES = 1024;

/**
 * The lowercased name of `text[from, to)`, validated as a token. A known name is confirmed by comparing
 * characters and comes back as the one string kept for it: no slice, regex or lowercasing, and V8 finds
 * a string it has used as a property key before without hashing it again.
 */
function headerName(text: string, from: number, to: number, hash: number): string {
  const known = NAMES.get(hash);
  if (known !== undefined && known.raw.length === to - from && text.startsWith(known.raw, from)) return known.name;
  const raw = text.slice(from, to);
  if (!TOKEN.test(raw)) throw new UpstreamProtocolError('invalid header name');
  const name = raw.toLowerCase();
  if (known === undefined && NAMES.size < MAX_NAMES) NAMES.set(hash, { raw, name });
  return name;
}

/** The status of a status line `text[0, eol)` (`HTTP/1.x NNN[ reason]`), or -1 when it is not one. */
function statusOf(text: string, eol: number): number {
  if (eol < 12 || !text.startsWith('HTTP/1.', 0)) return -1;
  const minor = text.charCodeAt(7);
  if ((minor !== 48 && minor !== 49) || text.charCodeAt(8) !== 0x20) return -1;
  const d0 = text.charCodeAt(9) - 48;
  const d1 = text.charCodeAt(10) - 48;
  const d2 = text.charCodeAt(11) - 48;
  if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return -1;
  if (eol > 12) {
    if (text.charCodeAt(12) !== 0x20) return -1;
    for (let i = 13; i < eol; i++) {
      const c = text.charCodeAt(i);
      if (c === CR || c === LF) return -1;
    }
  }
  return d0 * 100 + d1 * 10 + d2;
}

/** Why a header line at `at` has no `name:` (its scan stopped at `stop`, a CR, LF or the head's end). */
function noNameReason(text: string, at: number, stop: number): string {
  const first = text.charCodeAt(at);
  if (first === 0x20 || first === 0x09) return 'obsolete header line folding';
  const c = text.charCodeAt(stop);
  // A CRLF ends a line that had no colon; a CR or LF alone is never a line end.
  if (c === LF || (c === CR && text.charCodeAt(stop + 1) !== LF)) return 'bare CR or LF in the response head';
  return 'invalid header line';
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** A Content-Length value: 1 to 15 digits and nothing else, or -1. */
function decimal(v: string): number {
  if (v.length === 0 || v.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * A minimal HTTP/1.1 response parser for the proxy's upstream connections: status line and headers,
 * then a body framed by Content-Length, chunked transfer coding (extensions and trailers are read and
 * dropped) or the connection's close. Anything it does not understand is an `UpstreamProtocolError`
 * (obs-fold, bare CR/LF, conflicting or invalid lengths, Content-Length with Transfer-Encoding, a
 * transfer coding other than a final `chunked`, a head over `maxHeadBytes`, 101 Switching Protocols):
 * the response fails with 502 and its connection is discarded, as a request smuggling defence.
 *
 * Bytes may arrive split anywhere; `execute` takes each read as it comes and returns how far it got.
 */
export class ResponseParser {
  private state = State.Done;
  private sink: ResponseSink | null = null;
  private noBody = false;
  /** Head bytes of a head split over reads. */
  private headParts: Buffer | null = null;
  private remaining = 0;
  private chunkLine = 0;
  private trailerBytes = 0;
  private keepAlive = false;
  /** The `timeout=` of the last response's Keep-Alive header in ms, or -1. */
  keepAliveHintMs = -1;

  constructor(private readonly maxHeadBytes: number) {}

  /** Expect the response to one request; `noBody` for a HEAD request. */
  start(sink: ResponseSink, noBody: boolean): void {
    this.sink = sink;
    this.noBody = noBody;
    this.state = State.Head;
    this.headParts = null;
    this.keepAliveHintMs = -1;
  }

  /** Stops expecting a response (its request was dropped); `execute` returns at once. */
  reset(): void {
    this.state = State.Done;
    this.sink = null;
    this.headParts = null;
  }

  /** True between `start` and the response's last byte. */
  get active(): boolean {
    return this.state !== State.Done;
  }

  /** True once the head has been parsed (body bytes may have gone to the client). */
  get inBody(): boolean {
    return this.state !== State.Head && this.state !== State.Done;
  }

  /**
   * Parses `buf` from `at` and returns the offset where it stopped: `buf.length`, or earlier when the
   * sink paused or the response ended (the rest is not this response's). Throws UpstreamProtocolError.
   */
  execute(buf: Buffer, at: number): number {
    const len = buf.length;
    while (at < len) {
      switch (this.state) {
        case State.Head:
          at = this.head(buf, at);
          break;
        case State.Length: {
          const n = Math.min(this.remaining, len - at);
          this.remaining -= n;
          const chunk = at === 0 && n === len ? buf : buf.subarray(at, at + n);
          at += n;
          this.sink!.onBody(chunk);
          if (this.sink === null) return at; // the request was dropped from inside onBody
          if (this.remaining === 0) this.complete();
          else if (this.sink.paused) return at;
          break;
        }
        case State.UntilClose:
          this.sink!.onBody(at === 0 ? buf : buf.subarray(at));
          return len;
        case State.ChunkSize: {
          // `at < len` here and below; 0 (NUL) would be rejected as an invalid byte anyway.
          const c = buf[at++] ?? 0;
          const d = hexValue(c);
          if (d >= 0) {
            if (++this.chunkLine > 12) throw new UpstreamProtocolError('chunk size too large');
            this.remaining = this.remaining * 16 + d;
          } else if (this.chunkLine === 0) throw new UpstreamProtocolError('invalid chunk size');
          else if (c === CR) this.state = State.ChunkSizeLf;
          else if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) this.state = State.ChunkExt;
          else throw new UpstreamProtocolError('invalid chunk size');
          break;
        }
        case State.ChunkExt: {
          const c = buf[at++] ?? 0;
          if (++this.chunkLine > MAX_CHUNK_LINE) throw new UpstreamProtocolError('chunk extension too long');
          if (c === CR) this.state = State.ChunkSizeLf;
          else if (c === LF || c === 0) throw new UpstreamProtocolError('invalid chunk extension');
          break;
        }
        case State.ChunkSizeLf:
          if (buf[at++] !== LF) throw new UpstreamProtocolError('chunk size line not ended by CRLF');
          if (this.remaining === 0) {
            this.trailerBytes = 0;
            this.chunkLine = 0;
            this.state = State.Trailer;
          } else this.state = State.ChunkData;
          break;
        case State.ChunkData: {
          const n = Math.min(this.remaining, len - at);
          this.remaining -= n;
          const chunk = buf.subarray(at, at + n);
          at += n;
          if (this.remaining === 0) this.state = State.ChunkDataCr;
          this.sink!.onBody(chunk);
          if (this.sink === null || this.sink.paused) return at;
          break;
        }
        case State.ChunkDataCr:
          if (buf[at++] !== CR) throw new UpstreamProtocolError('chunk data not followed by CRLF');
          this.state = State.ChunkDataLf;
          break;
        case State.ChunkDataLf:
          if (buf[at++] !== LF) throw new UpstreamProtocolError('chunk data not followed by CRLF');
          this.remaining = 0;
          this.chunkLine = 0;
          this.state = State.ChunkSize;
          break;
        case State.Trailer: {
          // Trailer fields are read and dropped (the client's headers are gone already); `chunkLine`
          // is the length of the current trailer line, 0 at a line start.
          const c = buf[at++] ?? 0;
          if (++this.trailerBytes > this.maxHeadBytes) throw new UpstreamProtocolError('trailers too large');
          if (c === CR) this.state = State.TrailerLf;
          else if (c === LF || c === 0) throw new UpstreamProtocolError('invalid trailer');
          else this.chunkLine++;
          break;
        }
        case State.TrailerLf:
          if (buf[at++] !== LF) throw new UpstreamProtocolError('trailer line not ended by CRLF');
          if (this.chunkLine === 0) this.complete();
          else {
            this.chunkLine = 0;
            this.state = State.Trailer;
          }
          break;
        case State.Done:
          return at;
      }
      if ((this.state as State) === State.Done) return at;
    }
    return at;
  }

  /** The connection reached its end: completes a close-delimited body, else the response is cut short. */
  finish(): void {
    if (this.state === State.UntilClose) this.complete();
    else if (this.state !== State.Done) throw new UpstreamProtocolError(this.state === State.Head ? 'upstream closed the connection before a response' : 'upstream closed the connection mid-body');
  }

  private complete(): void {
    this.state = State.Done;
    const sink = this.sink!;
    this.sink = null;
    sink.onComplete(this.keepAlive);
  }

  private head(buf: Buffer, at: number): number {
    let data = buf;
    let from = at;
    let searchFrom = at;
    const held = this.headParts;
    if (held !== null) {
      data = Buffer.concat([held, at === 0 ? buf : buf.subarray(at)]);
      from = 0;
      searchFrom = Math.max(0, held.length - 3);
      this.headParts = null;
    }
    const end = data.indexOf(HEAD_END, searchFrom);
    if (end < 0) {
      if (data.length - from > this.maxHeadBytes) throw new UpstreamProtocolError(`response head over ${this.maxHeadBytes} bytes`);
      // Copied: `buf` may be a read buffer the next read overwrites.
      this.headParts = held !== null ? data : Buffer.from(data.subarray(from));
      return buf.length;
    }
    if (end + 4 - from > this.maxHeadBytes) throw new UpstreamProtocolError(`response head over ${this.maxHeadBytes} bytes`);
    this.parseHead(data.toString('latin1', from, end));
    // Offset into `buf` where the head ended (held bytes came before `buf`).
    const consumed = held === null ? end + 4 : end + 4 - held.length + at;
    return consumed;
  }

  private parseHead(text: string): void {
    if (text.indexOf('\0') >= 0) throw new UpstreamProtocolError('NUL in the response head');
    // One pass over the head's characters, no regex, split or per-line strings but the values: this
    // runs once per proxied request (a response's parse took 1.3 µs with split and a status-line regex,
    // 0.7-0.85 µs now, in the micro suite).
    const len = text.length;
    let eol = text.indexOf('\r\n');
    if (eol < 0) eol = len;
    const status = statusOf(text, eol);
    if (status < 0) throw new UpstreamProtocolError(`invalid status line: ${JSON.stringify(text.slice(0, Math.min(eol, 64)))}`);
    const http10 = text.charCodeAt(7) === 48; /* 0 */
    const headers = new HeaderFields() as IncomingHttpHeaders;
    for (let at = eol + 2; at < len; ) {
      // Name: up to the colon; its hash picks a known name, confirmed by comparing the characters.
      let hash = 0;
      let colon = at;
      for (; colon < len; colon++) {
        const c = text.charCodeAt(colon);
        if (c === 58 /* : */) break;
        if (c === CR || c === LF) break;
        hash = (Math.imul(hash, 31) + c) | 0;
      }
      if (colon === at || colon >= len || text.charCodeAt(colon) !== 58) throw new UpstreamProtocolError(noNameReason(text, at, colon));
      const name = headerName(text, at, colon, hash);
      // Value: to the line's CRLF, without the optional whitespace around it (SP and HTAB, RFC 9110 5.6.3).
      let end = colon + 1;
      for (; end < len; end++) {
        const c = text.charCodeAt(end);
        if (c === CR) {
          if (text.charCodeAt(end + 1) !== LF) throw new UpstreamProtocolError('bare CR or LF in the response head');
          break;
        }
        if (c === LF) throw new UpstreamProtocolError('bare CR or LF in the response head');
      }
      let from = colon + 1;
      while (from < end && isOws(text.charCodeAt(from))) from++;
      let to = end;
      while (to > from && isOws(text.charCodeAt(to - 1))) to--;
      const value = text.slice(from, to);
      at = end + 2;
      const prior = headers[name];
      if (prior === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
      else if (Array.isArray(prior)) prior.push(value);
      else (headers as Record<string, string | string[]>)[name] = [prior, value];
    }
    if (status < 200) {
      if (status === 101) throw new UpstreamProtocolError('101 Switching Protocols on a proxied request');
      // 1xx informational: the final response follows on the same connection.
      this.state = State.Head;
      return;
    }
    const connection = headers.connection as string | string[] | undefined;
    if (connection === undefined) this.keepAlive = !http10;
    else {
      const conn = typeof connection === 'string' ? connection.toLowerCase() : connection.join(',').toLowerCase();
      this.keepAlive = http10 ? /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(conn) : !/(?:^|,)\s*close\s*(?:,|$)/.test(conn);
    }
    const hint = headers['keep-alive'];
    if (typeof hint === 'string') {
      const t = /timeout=(\d+)/i.exec(hint);
      if (t) this.keepAliveHintMs = Number(t[1]) * 1000;
    }
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (te !== undefined && cl !== undefined) throw new UpstreamProtocolError('both Transfer-Encoding and Content-Length');
    let length = -1;
    if (cl !== undefined) {
      const v = Array.isArray(cl) ? cl : [cl];
      for (const one of v) {
        const n = decimal(one);
        if (n < 0 || (length >= 0 && n !== length)) throw new UpstreamProtocolError('invalid Content-Length');
        length = n;
      }
      if (Array.isArray(cl)) headers['content-length'] = String(length);
    }
    let chunked = false;
    if (te !== undefined) {
      if (Array.isArray(te) || !/(?:^|,)\s*chunked\s*$/i.test(te) || /chunked\s*,/i.test(te)) throw new UpstreamProtocolError(`unsupported Transfer-Encoding ${String(te)}`);
      chunked = true;
    }
    this.sink!.onHead(status, headers, eol > 13 ? text.slice(13, eol) : '');
    if (this.sink === null) return; // dropped from inside onHead
    if (this.noBody || status === 204 || status === 304) return this.complete();
    if (chunked) {
      this.remaining = 0;
      this.chunkLine = 0;
      this.state = State.ChunkSize;
    } else if (length >= 0) {
      this.remaining = length;
      this.state = State.Length;
      if (length === 0) this.complete();
    } else {
      // Neither length nor chunked: the body runs to the connection's close, which then cannot be reused.
      this.keepAlive = false;
      this.state = State.UntilClose;
    }
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
