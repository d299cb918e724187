import type { Logger } from 'pino';

export type RedisFailurePolicyName = 'fail-open' | 'fail-closed';

/** Counts of decisions taken without Redis, for tests, logs and the metrics of the monitoring issue. */
export interface FallbackCounters {
  failOpen: number;
  failClosed: number;
}

const LOG_EVERY_MS = 1_000;

/**
 * What a throttle or quota decision does when its Redis call (bounded by the node's RedisGuard) gets no
 * answer: `gateway.throttle.redisFailurePolicy`, fail-open (go on unthrottled) or fail-closed (503).
 */
export class FailurePolicy {
  readonly counters: FallbackCounters = { failOpen: 0, failClosed: 0 };
  private unlogged = 0;
  private lastLog = 0;

  constructor(
    readonly policy: RedisFailurePolicyName,
    private readonly logger: Logger,
  ) {}

  /**
   * Records one decision taken without Redis and says whether the request may go on. Every decision is
   * counted; the log gets the first at once and then one line per second with the count, so an outage
   * under load does not turn into a log flood.
   */
  admits(what: string, cause: unknown): boolean {
    const open = this.policy === 'fail-open';
    if (open) this.counters.failOpen++;
    else this.counters.failClosed++;
    this.unlogged++;
    const now = Date.now();
    if (now - this.lastLog >= LOG_EVERY_MS) {
      const message = cause instanceof Error ? cause.message : String(cause);
      this.logger.warn({ event: 'traffic_redis_fallback', policy: this.policy, decisions: this.unlogged, what, cause: message, totals: this.counters }, `redis unavailable: ${this.unlogged} ${what} decision(s) taken ${this.policy}`);
      this.unlogged = 0;
      this.lastLog = now;
    }
    return open;
  }
}
