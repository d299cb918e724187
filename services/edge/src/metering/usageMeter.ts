import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { utcDate, type ApiKeyStore } from '@turnpike/redis';
import type { RequestContext } from '../pipeline/context.js';
import type { ApiStage, CompiledApi } from '../router/routeTable.js';
import type { RedisBound } from '../redis/redisGuard.js';

const DAY_MS = 86_400_000;

/** Which requests count, `gateway.metering.billable` (docs/billing.md). */
export type BillablePolicy = 'integration' | 'integration-any' | 'admitted';

export interface UsageMeterOptions {
  store: ApiKeyStore;
  /** Bounds each write like every Redis call of the node (skipped at once while Redis is down). */
  bound: RedisBound;
  clock: () => number;
  logger: Logger;
  billable: BillablePolicy;
  flushIntervalMs: number;
}

/** "<apiId>/<stage> <route key>" → [calls, bytes] */
type Counts = Map<string, [number, number]>;

interface Batch {
  readonly id: string;
  readonly keyId: string;
  readonly day: string;
  readonly counts: Counts;
}

/**
 * Per-call metering that billing can rely on: calls and response bytes per API key, API, stage, route and
 * UTC day, counted exactly once across every edge.
 *
 * The hot path only adds to in-memory counters. Every flush interval they are cut into batches, one per
 * key and day, each with an id unique to this node, and written with usage-flush-2.lua, which applies a
 * batch id at most once. A batch whose write fails or whose reply is lost is resent unchanged (same id,
 * same counts) until Redis acknowledges it, so a retry can never count twice; while one batch of a key
 * and day is unacknowledged, new calls of that key and day wait in the counters, so an outage holds at
 * most one batch per key and day in memory. SIGTERM flushes and waits; `kill -9` loses what was counted
 * since the last acknowledged flush (at most one interval of calls, plus the calls of an outage).
 */
export class UsageMeter {
  private pending = new Map<string, Map<string, Counts>>();
  private readonly unacked = new Map<string, Batch>();
  private day = '';
  private dayEnds = 0;
  private readonly nodeId = randomUUID();
  private seq = 0;
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;
  private readonly billable: (ctx: RequestContext) => boolean;
  /**
   * Each API stage's counter names by route key, built once: a metered request then neither builds nor
   * hashes a fresh string. By API first (a stage object may stand for no stage of any API); weak, so the
   * APIs of a replaced deployment leave with it.
   */
  private readonly routeNames = new WeakMap<CompiledApi, Map<ApiStage, Map<string, string>>>();
  private lastRoute: { readonly api: CompiledApi; readonly stage: ApiStage; readonly route: RequestContext['route']; readonly name: string } | null = null;

  constructor(private readonly options: UsageMeterOptions) {
    this.billable = BILLABLE[options.billable];
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  /** Meters a finished request that an API key was admitted with, when the billing policy counts it. */
  record(ctx: RequestContext): void {
    const keyId = ctx.apiKeyId;
    if (keyId === null || !this.billable(ctx)) return;
    const now = this.options.clock();
    if (now >= this.dayEnds || now < this.dayEnds - DAY_MS) {
      this.day = utcDate(now);
      this.dayEnds = Date.parse(`${this.day}T00:00:00Z`) + DAY_MS;
    }
    let byKey = this.pending.get(this.day);
    if (byKey === undefined) this.pending.set(this.day, (byKey = new Map()));
    let counts = byKey.get(keyId);
    if (counts === undefined) byKey.set(keyId, (counts = new Map()));
    const route = this.routeName(ctx);
    const c = counts.get(route);
    if (c === undefined) counts.set(route, [1, ctx.responseBytes]);
    else {
      c[0]++;
      c[1] += ctx.responseBytes;
    }
  }

  /** "<apiId>/<stage> <route key>", the name a route's calls are counted under. */
  private routeName(ctx: RequestContext): string {
    // Consecutive requests mostly share their route: the last one's name is kept at hand.
    const last = this.lastRoute;
    if (last !== null && last.api === ctx.api && last.stage === ctx.stage && last.route === ctx.route) return last.name;
    const name = this.lookupRouteName(ctx);
    this.lastRoute = { api: ctx.api, stage: ctx.stage, route: ctx.route, name };
    return name;
  }

  private lookupRouteName(ctx: RequestContext): string {
    let byStage = this.routeNames.get(ctx.api);
    if (byStage === undefined) this.routeNames.set(ctx.api, (byStage = new Map()));
    let byRoute = byStage.get(ctx.stage);
    if (byRoute === undefined) byStage.set(ctx.stage, (byRoute = new Map()));
    const routeKey = ctx.routeKey;
    let name = byRoute.get(routeKey);
    if (name === undefined) byRoute.set(routeKey, (name = `${ctx.api.id}/${ctx.stage.name} ${routeKey}`));
    return name;
  }

  /** Calls counted here that Redis has not acknowledged yet (for tests and the shutdown log). */
  get unacknowledgedCalls(): number {
    let n = 0;
    const add = (counts: Counts) => {
      for (const [calls] of counts.values()) n += calls;
    };
    for (const b of this.unacked.values()) add(b.counts);
    for (const byKey of this.pending.values()) for (const counts of byKey.values()) add(counts);
    return n;
  }

  /** Writes what is counted: unacknowledged batches again, then new batches for the counters. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.cutBatches();
    if (this.unacked.size === 0) return Promise.resolve();
    const writes = [...this.unacked.entries()].map(([slot, b]) =>
      this.options.bound.call(() => this.options.store.applyUsageBatch(b.keyId, b.day, b.id, b.counts)).then(() => {
        this.unacked.delete(slot);
      }),
    );
    this.flushing = Promise.allSettled(writes).then((results) => {
      this.flushing = null;
      const failed = results.filter((r) => r.status === 'rejected').length;
      if (failed) this.options.logger.warn({ event: 'usage_flush_failed', failed }, 'usage metering could not be written to redis; the batches will be resent');
    });
    return this.flushing;
  }

  /** Moves the counters of every key and day without a batch in flight into a new batch. */
  private cutBatches(): void {
    for (const [day, byKey] of this.pending) {
      for (const [keyId, counts] of byKey) {
        const slot = `${keyId} ${day}`;
        if (this.unacked.has(slot)) continue;
        this.unacked.set(slot, { id: `${this.nodeId}:${++this.seq}`, keyId, day, counts });
        byKey.delete(keyId);
      }
      if (byKey.size === 0) this.pending.delete(day);
    }
  }

  /** Stops the timer and writes everything, resending until acknowledged or `deadlineMs` passes. */
  async close(deadlineMs = 5_000): Promise<void> {
    clearInterval(this.timer);
    const until = Date.now() + deadlineMs;
    await this.flushing;
    for (;;) {
      await this.flush();
      if (this.unacked.size === 0 && this.pending.size === 0) return;
      if (Date.now() >= until) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    this.options.logger.error({ event: 'usage_lost', calls: this.unacknowledgedCalls }, 'metered usage could not be written before shutdown');
  }
}

const BILLABLE: Record<BillablePolicy, (ctx: RequestContext) => boolean> = {
  // The integration answered (no gateway-generated error: refusals, 404/405, timeouts, 502) and not with a 5xx.
  integration: (ctx) => ctx.errorMessage === null && ctx.status < 500,
  'integration-any': (ctx) => ctx.errorMessage === null,
  // Everything admitted with a key except throttling and quota refusals.
  admitted: (ctx) => ctx.status !== 429,
};
