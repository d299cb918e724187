import type { RedisClient } from '@turnpike/redis';
import type { Logger } from 'pino';

export type RedisFailurePolicy = 'fail-open' | 'fail-closed';

export class RedisUnavailableError extends Error {
  readonly code = 'TP_REDIS_UNAVAILABLE';
}

/** Counts of decisions taken without Redis, for tests, logs and the metrics of the monitoring issue. */
export interface FallbackCounters {
  failOpen: number;
  failClosed: number;
}

/** After a failure, skip Redis for this long: during an outage requests decide at once instead of each waiting. */
const BREAKER_MS = 250;
const LOG_EVERY_MS = 1_000;

/**
 * Bounds every traffic call to Redis by `timeoutMs` and applies the failure policy when it does not
 * answer. ioredis keeps reconnecting by itself and the scripts reload on NOSCRIPT, so once Redis is back
 * the next call after the breaker window simply succeeds: the node recovers without a restart.
 */
export class RedisGuard {
  readonly counters: FallbackCounters = { failOpen: 0, failClosed: 0 };
  private openUntil = 0;
  private unlogged = 0;
  private lastLog = 0;
  private lastCause = '';
  private readyWait: Promise<void> | null = null;

  constructor(
    readonly timeoutMs: number,
    readonly policy: RedisFailurePolicy,
    private readonly redis: RedisClient,
    private readonly logger: Logger,
  ) {}

  /**
   * Runs `fn` against Redis, or rejects after `timeoutMs`. While the connection is not ready (starting,
   * reconnecting) the call waits for it within the same bound instead of failing at once: the
   * fail-fast connection would reject it, and a node that just started must not fail open for that.
   */
  call<T>(fn: () => Promise<T>): Promise<T> {
    if (Date.now() < this.openUntil) return Promise.reject(new RedisUnavailableError('redis unavailable (recent failure)'));
    return new Promise<T>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        this.trip();
        reject(new RedisUnavailableError(`redis did not answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const run = () => {
        if (timedOut) return;
        fn().then(
          (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          (err: unknown) => {
            clearTimeout(timer);
            this.trip();
            reject(err);
          },
        );
      };
      if (this.redis.status === 'ready') run();
      else this.whenReady().then(run, () => {});
    });
  }

  private whenReady(): Promise<void> {
    return (this.readyWait ??= new Promise<void>((resolve) =>
      this.redis.once('ready', () => {
        this.readyWait = null;
        resolve();
      }),
    ));
  }

  private trip(): void {
    this.openUntil = Date.now() + BREAKER_MS;
  }

  /**
   * Records one decision taken without Redis and says whether the request may go on. Every decision is
   * counted; the log gets the first at once and then one line per second with the count, so an outage
   * under load does not turn into a log flood.
   */
  fallback(what: string, cause: unknown): boolean {
    const open = this.policy === 'fail-open';
    if (open) this.counters.failOpen++;
    else this.counters.failClosed++;
    this.unlogged++;
    this.lastCause = cause instanceof Error ? cause.message : String(cause);
    const now = Date.now();
    if (now - this.lastLog >= LOG_EVERY_MS) {
      this.logger.warn({ event: 'traffic_redis_fallback', policy: this.policy, decisions: this.unlogged, what, cause: this.lastCause, totals: this.counters }, `redis unavailable: ${this.unlogged} ${what} decision(s) taken ${this.policy}`);
      this.unlogged = 0;
      this.lastLog = now;
    }
    return open;
  }
}
