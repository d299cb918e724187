import type { Logger } from 'pino';
import { utcDate, type ApiKeyStore } from '@turnpike/redis';
import type { RequestContext } from '../pipeline/context.js';
import type { RedisBound } from '../redis/redisGuard.js';

const FLUSH_EVERY_MS = 1_000;
const DAY_MS = 86_400_000;

/** day → keyId → "<apiId>/<stage>" → [calls, bytes] */
type Pending = Map<string, Map<string, Map<string, [number, number]>>>;

/**
 * Per-call metering: calls and response bytes per API key, API and stage per UTC day. The hot path only
 * adds to in-memory counters; a timer writes them to Redis once a second with HINCRBY (one pipelined
 * round trip for everything). Writes are bounded like every Redis call of the node (skipped at once
 * while Redis is down); a failed or timed-out write keeps the counts for the next flush, so an outage
 * delays usage but loses none of it unless the process dies; shutdown flushes once more. A write that
 * timed out may still land in Redis later and then be written again: metering is at-least-once.
 */
export class UsageMeter {
  private pending: Pending = new Map();
  private day = '';
  private dayEnds = 0;
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: ApiKeyStore,
    private readonly bound: RedisBound,
    private readonly clock: () => number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  /** Meters a finished request that an API key was admitted with; throttled and over-quota ones are not billed. */
  record(ctx: RequestContext): void {
    const keyId = ctx.apiKeyId;
    if (keyId === null || ctx.status === 429) return;
    const now = this.clock();
    if (now >= this.dayEnds || now < this.dayEnds - DAY_MS) {
      this.day = utcDate(now);
      this.dayEnds = Date.parse(`${this.day}T00:00:00Z`) + DAY_MS;
    }
    let byKey = this.pending.get(this.day);
    if (byKey === undefined) this.pending.set(this.day, (byKey = new Map()));
    let byStage = byKey.get(keyId);
    if (byStage === undefined) byKey.set(keyId, (byStage = new Map()));
    const apiStage = `${ctx.api.id}/${ctx.stage.name}`;
    const c = byStage.get(apiStage);
    if (c === undefined) byStage.set(apiStage, [1, ctx.responseBytes]);
    else {
      c[0]++;
      c[1] += ctx.responseBytes;
    }
  }

  /** Writes everything counted so far; what fails to write is counted again into the next flush. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = new Map();
    const writes: Promise<unknown>[] = [];
    for (const [day, byKey] of batch) {
      for (const [keyId, counts] of byKey) {
        writes.push(
          this.bound.call(() => this.store.addUsage(keyId, day, counts)).catch((err: unknown) => {
            this.merge(day, keyId, counts);
            throw err;
          }),
        );
      }
    }
    this.flushing = Promise.allSettled(writes).then((results) => {
      this.flushing = null;
      const failed = results.filter((r) => r.status === 'rejected').length;
      if (failed) this.logger.warn({ event: 'usage_flush_failed', failed }, 'usage metering could not be written to redis; will retry');
    });
    return this.flushing;
  }

  private merge(day: string, keyId: string, counts: Map<string, [number, number]>): void {
    let byKey = this.pending.get(day);
    if (byKey === undefined) this.pending.set(day, (byKey = new Map()));
    const into = byKey.get(keyId);
    if (into === undefined) {
      byKey.set(keyId, counts);
      return;
    }
    for (const [apiStage, [calls, bytes]] of counts) {
      const c = into.get(apiStage);
      if (c === undefined) into.set(apiStage, [calls, bytes]);
      else {
        c[0] += calls;
        c[1] += bytes;
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }
}
