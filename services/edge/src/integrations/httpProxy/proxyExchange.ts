import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { HOP_BY_HOP, connectionTokens } from '../../http/hopByHop.js';
import type { AbortListener, RequestContext } from '../../pipeline/context.js';

class IntegrationTimeout extends Error {
  readonly code = 'TP_INTEGRATION_TIMEOUT';
}
class ClientGone extends Error {
  readonly code = 'TP_CLIENT_GONE';
}

/**
 * One proxied request: an undici dispatch handler on the upstream side, a uWS response on the client
 * side, and backpressure between them by return value and pause/resume, never by buffering: when uWS
 * cannot take a chunk the upstream read is paused until the client socket drains.
 *
 * Every callback here runs on an undici, uWS or timer event; whatever it throws is contained to this
 * request (`fault`): the upstream request is aborted and the client answered 500 or cut off.
 */
export class ProxyExchange implements Dispatcher.DispatchHandler, AbortListener {
  private controller: Dispatcher.DispatchController | null = null;
  private timer: NodeJS.Timeout | null;
  private started = false;
  /** Declared upstream length, or -1 for chunked. */
  private length = -1;
  private noBody = false;
  /** A chunk uWS did not take whole (tryEnd), and the write offset where it starts. */
  private pending: Buffer | null = null;
  private pendingAt = 0;
  private done = false;
  /** The upstream's status and headers, held until the first body bytes so both go out in one write. */
  private status = 0;
  private headers: IncomingHttpHeaders | null = null;

  constructor(
    private readonly ctx: RequestContext,
    private readonly timeoutMs: number,
  ) {
    // A module function with the exchange as its argument: no closure per request for the timer.
    this.timer = setTimeout(exchangeTimedOut, timeoutMs, this);
    ctx.onAbort(this);
  }

  /** The client went away: the upstream request is let go. */
  clientAborted(): void {
    this.abortUpstream(new ClientGone('client disconnected'));
  }

  /** The integration timeout fired before the upstream's head (a timer callback: nothing may escape it). */
  timedOut(): void {
    this.timer = null;
    try {
      this.abortUpstream(new IntegrationTimeout(`upstream did not answer within ${this.timeoutMs} ms`));
    } catch (err) {
      this.fault(err);
    }
  }

  private abortUpstream(reason: Error): void {
    if (this.controller && !this.controller.aborted) this.controller.abort(reason);
    else if (!this.controller) this.pendingAbort = reason;
  }

  private pendingAbort: Error | null = null;

  /** An exception in this exchange's code: the request ends (500 or cut), the upstream is let go. */
  private fault(err: unknown): void {
    this.clearTimer();
    const c = this.controller;
    if (c !== null && !c.aborted) {
      try {
        c.abort(err instanceof Error ? err : new Error(String(err)));
      } catch {
        /* the upstream request is gone either way */
      }
    }
    this.ctx.contain(err);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    try {
      this.responseStart(controller, statusCode, headers);
    } catch (err) {
      this.fault(err);
    }
  }

  private responseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    const ctx = this.ctx;
    if (ctx.aborted) return controller.abort(new ClientGone('client disconnected'));
    if (statusCode < 200) return; // 1xx informational: the final response follows.
    this.clearTimer();
    this.started = true;
    ctx.integrationLatency = performance.now() - ctx.startHr;
    const cl = headers['content-length'];
    this.length = typeof cl === 'string' ? Number(cl) : -1;
    this.noBody = ctx.method === 'HEAD' || statusCode === 204 || statusCode === 304;
    // The head is written together with the first body bytes (or the end), in one cork: one syscall
    // for a small response instead of one for the head and one for the body.
    this.status = statusCode;
    this.headers = headers;
  }

  /** Writes the status line and the upstream's end-to-end headers; call inside a cork. */
  private writeHeadOnce(): void {
    const headers = this.headers;
    if (headers === null) return;
    this.headers = null;
    const ctx = this.ctx;
    const res = ctx.res;
    ctx.writeHead(this.status);
    const drop = connectionTokens(headers.connection as string | undefined);
    // With CORS configured the gateway answers for it, as API Gateway does: the upstream's own CORS headers go.
    const ownCors = ctx.api.config.cors !== undefined;
    for (const name in headers) {
      if (HOP_BY_HOP.has(name) || name === 'content-length' || name === 'date' || drop?.has(name) || (ownCors && name.startsWith('access-control-'))) continue;
      const v = headers[name];
      if (Array.isArray(v)) for (const one of v) res.writeHeader(name, one);
      else if (v !== undefined) res.writeHeader(name, v);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    try {
      this.responseData(controller, chunk);
    } catch (err) {
      this.fault(err);
    }
  }

  private responseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const ctx = this.ctx;
    if (ctx.aborted || this.noBody) return;
    const res = ctx.res;
    ctx.responseBytes += chunk.length;
    let ok = true;
    if (this.length >= 0) {
      res.cork(() => {
        this.writeHeadOnce();
        const at = res.getWriteOffset();
        const [written, finished] = res.tryEnd(chunk, this.length);
        if (finished) this.done = true;
        else if (!written) {
          ok = false;
          // Copied: a chunk is lent for the duration of the callback (the lean client reuses its read buffer).
          this.pending = Buffer.from(chunk);
          this.pendingAt = at;
        }
      });
      if (!ok) {
        controller.pause();
        res.onWritable((offset) => this.retryPending(offset));
      }
    } else {
      res.cork(() => {
        this.writeHeadOnce();
        ok = res.write(chunk);
      });
      if (!ok) {
        controller.pause();
        res.onWritable(() => {
          try {
            controller.resume();
          } catch (err) {
            this.fault(err);
          }
          return true;
        });
      }
    }
  }

  private retryPending(offset: number): boolean {
    try {
      return this.writePending(offset);
    } catch (err) {
      this.fault(err);
      return true;
    }
  }

  private writePending(offset: number): boolean {
    const ctx = this.ctx;
    const chunk = this.pending;
    if (!chunk || ctx.aborted) return true;
    const [written, finished] = ctx.res.tryEnd(chunk.subarray(offset - this.pendingAt), this.length);
    if (finished) this.done = true;
    if (written || finished) {
      this.pending = null;
      this.controller?.resume();
    }
    return written;
  }

  onResponseEnd(): void {
    try {
      this.responseEnd();
    } catch (err) {
      this.fault(err);
    }
  }

  private responseEnd(): void {
    const ctx = this.ctx;
    this.clearTimer();
    if (ctx.aborted) return;
    const res = ctx.res;
    if (this.noBody) {
      res.cork(() => {
        this.writeHeadOnce();
        res.endWithoutBody(this.length >= 0 && ctx.method === 'HEAD' ? this.length : undefined);
      });
    } else if (this.length < 0 || (this.length === 0 && !this.done)) {
      res.cork(() => {
        this.writeHeadOnce();
        res.end();
      });
    } else if (!this.done && this.pending === null) {
      // The upstream sent fewer bytes than it declared: the client must not take a short body as whole.
      ctx.errorMessage ??= 'upstream response shorter than its content-length';
      res.close();
      return;
    }
    if (this.pending === null) ctx.finish();
    else this.finishWhenDrained();
  }

  private finishWhenDrained(): void {
    const ctx = this.ctx;
    ctx.res.onWritable((offset) => {
      const ok = this.retryPending(offset);
      if (this.done) ctx.finish();
      return ok;
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    try {
      this.responseError(err);
    } catch (inner) {
      this.ctx.contain(inner);
    }
  }

  private responseError(err: Error): void {
    const ctx = this.ctx;
    this.clearTimer();
    if (ctx.aborted) return;
    if (err instanceof ClientGone) return;
    if (this.started && this.headers === null) {
      // Headers are gone already: the only honest signal left is to cut the connection.
      ctx.errorMessage ??= `upstream failed mid-response: ${err.message}`;
      ctx.res.close();
      return;
    }
    if (ctx.responded) return; // the body reader already answered (413, 408)
    if (this.started) {
      ctx.gatewayError('INTEGRATION_FAILURE', `upstream failed before its body: ${err.message}`);
      return;
    }
    if (err instanceof IntegrationTimeout || (err as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT') {
      ctx.integrationLatency = performance.now() - ctx.startHr;
      ctx.gatewayError('INTEGRATION_TIMEOUT', err.message);
      return;
    }
    ctx.gatewayError('INTEGRATION_FAILURE', `upstream error: ${(err as { code?: string }).code ?? ''} ${err.message}`.trim());
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}

function exchangeTimedOut(exchange: ProxyExchange): void {
  exchange.timedOut();
}
