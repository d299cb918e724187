import type { CompiledRoute } from '../../router/routeTable.js';
import type { EdgeServices } from '../../pipeline/pipeline.js';
import type { RequestContext } from '../../pipeline/context.js';
import { CONTINUE, STOP, type Stage, type StageResult } from '../../pipeline/stage.js';
import { apiKeySourceOf } from '../../services/traffic/apiKeySource.js';
import type { PlanBinding } from '../../services/traffic/apiKeyCache.js';
import { MISS, TAKEN, type LocalLease } from '../../services/traffic/leaseBucket.js';
import type { TokenBucket } from '../../services/traffic/tokenBucket.js';
import type { TrafficControl } from '../../services/traffic/trafficControl.js';
import type { ThrottleLimits } from '@turnpike/redis';
import type { EdgeMetrics } from '../../services/metrics/edgeMetrics.js';

/** A request whose leases other requests keep spending first gives up after this many refills. */
const MAX_REFILLS = 4;
const NO_BUCKETS: readonly TokenBucket[] = [];
/** After the fixed levels: client IP, plan bucket, plan quota (see levelAt). */
const EXTRA_LEVELS = 3;

/**
 * Every throttling level that applies to the request, all at once: gateway-wide, API stage, route
 * within the stage, client IP, and the API key's usage plan, then the plan's quota. A request takes one
 * token from every level or from none (tokens taken before a refusal are given back). When every level
 * has tokens leased on this node the decision is synchronous; otherwise the request waits for one
 * lease round trip, bounded by `redisTimeoutMs` (refused at once while Redis is known to be down), after
 * which the failure policy decides.
 */
export class ThrottleStage implements Stage {
  readonly name = 'throttle';
  readonly kind = 'check';

  constructor(
    /** The fixed levels per API stage name: gateway, stage, route. */
    private readonly byStage: ReadonlyMap<string, readonly TokenBucket[]>,
    private readonly perIp: ThrottleLimits | undefined,
    private readonly traffic: TrafficControl,
    private readonly metrics: EdgeMetrics | null,
  ) {}

  run(ctx: RequestContext): StageResult | Promise<StageResult> {
    const levels = this.byStage.get(ctx.stage.name) ?? NO_BUCKETS;
    const ip = this.perIp === undefined ? null : this.traffic.ipBucket(ctx.sourceIp, this.perIp);
    const plan = ctx.usagePlan;
    const r = this.decide(ctx, levels, ip, plan);
    if (r === CONTINUE || r === STOP) return r;
    return this.afterRefill(ctx, levels, ip, plan, r);
  }

  /** CONTINUE or STOP when decided, else the lease that must be refilled first. */
  private decide(ctx: RequestContext, levels: readonly TokenBucket[], ip: TokenBucket | null, plan: PlanBinding | null): StageResult | LocalLease {
    const now = this.traffic.clock();
    const n = levels.length;
    let tightest: TokenBucket | null = null;
    let tightestLeft = Infinity;
    for (let i = 0; i < n + EXTRA_LEVELS; i++) {
      const lease = levelAt(i, levels, ip, plan, now);
      if (lease === null) continue;
      const r = lease.take(now);
      if (r === TAKEN) {
        if (i <= n + 1) {
          const left = lease.remaining();
          if (left < tightestLeft) {
            tightest = lease as TokenBucket;
            tightestLeft = left;
          }
        }
        continue;
      }
      this.refundBefore(i, levels, ip, plan, now);
      if (r === MISS) return lease;
      return this.refuse(ctx, lease, i === n + 2, now);
    }
    if (tightest !== null) addHeaders(ctx, tightest.limitHeader, tightestLeft, tightest.resetSeconds(tightestLeft));
    return CONTINUE;
  }

  private refundBefore(i: number, levels: readonly TokenBucket[], ip: TokenBucket | null, plan: PlanBinding | null, now: number): void {
    for (let j = 0; j < i; j++) levelAt(j, levels, ip, plan, now)?.refund();
  }

  private async afterRefill(ctx: RequestContext, levels: readonly TokenBucket[], ip: TokenBucket | null, plan: PlanBinding | null, missing: LocalLease): Promise<StageResult> {
    for (let attempt = 0; attempt < MAX_REFILLS; attempt++) {
      // Counted while waiting, so the lease is sized to every request waiting for it; uncounted in this
      // request's own continuation (not in a callback of the lease), so the requests still waiting are
      // counted when the first of them starts the next lease.
      missing.waiters++;
      try {
        await this.refillAll(levels, ip, plan, missing);
      } catch (err) {
        missing.waiters--;
        if (this.traffic.fallback.admits('throttle', err)) return CONTINUE;
        ctx.gatewayErrorStatus(503, 'Service Unavailable', 'throttle decision failed closed: redis unavailable');
        return STOP;
      }
      missing.waiters--;
      if (ctx.aborted) return STOP;
      const r = this.decide(ctx, levels, ip, plan);
      if (r === CONTINUE || r === STOP) return r;
      missing = r;
    }
    // Every fresh lease went to other requests of this node first: the level is saturated.
    const now = this.traffic.clock();
    return this.refuse(ctx, missing, plan !== null && missing === plan.quota?.current(now), now);
  }

  /** Refills every level this request would miss at once: one parallel round trip, not one per level. */
  private refillAll(levels: readonly TokenBucket[], ip: TokenBucket | null, plan: PlanBinding | null, missing: LocalLease): Promise<unknown> {
    const now = this.traffic.clock();
    const n = levels.length;
    const own = missing.refill(now);
    const others: Promise<void>[] = [];
    for (let i = 0; i < n + EXTRA_LEVELS; i++) {
      const lease = levelAt(i, levels, ip, plan, now);
      if (lease !== null && lease !== missing && lease.needsRefill(now)) others.push(lease.refill(now));
    }
    return others.length === 0 ? own : Promise.all([own, ...others]);
  }

  private refuse(ctx: RequestContext, lease: LocalLease, isQuota: boolean, now: number): StageResult {
    this.metrics?.throttled(ctx);
    const retrySeconds = Math.max(1, Math.ceil(lease.retryAfterMs(now) / 1000));
    const retry = ['retry-after', String(retrySeconds)];
    if (isQuota) {
      ctx.gatewayError('QUOTA_EXCEEDED', 'Limit Exceeded: usage plan quota', retry);
    } else {
      const b = lease as TokenBucket;
      addHeaders(ctx, b.limitHeader, 0, retrySeconds);
      ctx.gatewayError('THROTTLED', `Too Many Requests: ${b.name}`, retry);
    }
    return STOP;
  }
}

/**
 * The request's levels as one list without building one: the route's fixed buckets, the client IP's,
 * the plan's bucket and the plan's quota (the last two only with an API key).
 */
function levelAt(i: number, levels: readonly TokenBucket[], ip: TokenBucket | null, plan: PlanBinding | null, now: number): LocalLease | null {
  const n = levels.length;
  if (i < n) return levels[i] ?? null;
  if (i === n) return ip;
  if (i === n + 1) return plan?.bucket ?? null;
  return plan?.quota?.current(now) ?? null;
}

function addHeaders(ctx: RequestContext, limit: string, remaining: number, reset: number): void {
  const left = Math.max(0, remaining);
  const mine = ['ratelimit-limit', limit, 'ratelimit-remaining', String(left), 'ratelimit-reset', String(reset)];
  const extra = ctx.extraHeaders;
  if (extra === null) {
    ctx.extraHeaders = mine;
    return;
  }
  // Another stage's list may be shared between requests: extend a copy, never the list itself.
  let at = 0;
  while (at < extra.length && extra[at] !== 'ratelimit-limit') at += 2;
  if (at >= extra.length) ctx.extraHeaders = extra.concat(mine);
  // The plan levels of an authorizer's key are decided apart from the fixed ones (buildPlanThrottleStage):
  // the response names the tighter decision, once.
  else if (left <= Number(extra[at + 3])) ctx.extraHeaders = extra.slice(0, at).concat(mine, extra.slice(at + 6));
}

export function buildThrottleStage(route: CompiledRoute, s: EdgeServices): Stage | null {
  const t = s.traffic;
  const gw = s.config.gateway.throttle;
  const api = route.api;
  const byStage = new Map<string, TokenBucket[]>();
  let any = false;
  for (const stageName of api.stages.keys()) {
    const levels: TokenBucket[] = [];
    if (gw.rateLimit !== undefined && gw.burstLimit !== undefined) levels.push(t.bucket('gateway', { rateLimit: gw.rateLimit, burstLimit: gw.burstLimit }));
    const stageLimits = api.config.stages[stageName]?.throttle;
    if (stageLimits) levels.push(t.bucket(`stage:${api.id}/${stageName}`, stageLimits));
    if (route.config.throttle) levels.push(t.bucket(`route:${api.id}/${stageName}/${route.routeKey}`, route.config.throttle));
    if (levels.length) any = true;
    byStage.set(stageName, levels);
  }
  if (!any && gw.perClientIp === undefined && apiKeySourceOf(route) !== 'HEADER') return null;
  return new ThrottleStage(byStage, gw.perClientIp, t, s.metrics);
}

/**
 * After the authorizer, for keys from its `usageIdentifierKey`: the same stage with no fixed levels, so
 * only the key's plan throttle and quota. The fixed levels stay before the authorizer (buildThrottleStage),
 * where they shield it from floods; a request its plan refuses has spent their tokens.
 */
export function buildPlanThrottleStage(route: CompiledRoute, s: EdgeServices): Stage | null {
  return apiKeySourceOf(route) === 'AUTHORIZER' ? new ThrottleStage(new Map(), undefined, s.traffic, s.metrics) : null;
}
