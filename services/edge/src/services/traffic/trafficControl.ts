import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { GatewayConfig } from '@turnpike/config';
import { ApiKeyStore, BillingStore, type QuotaPeriod, type QuotaSettings, type RedisKeys, type ThrottleLimits, type RedisClient } from '@turnpike/redis';
import { ApiKeyCache } from './apiKeyCache.js';
import { UsageMeter } from '../../metering/usageMeter.js';
import { RedisGuard, type RedisBound } from '../../redis/redisGuard.js';
import { SpendGuard } from '../../metering/spendGuard.js';
import { BillingService } from '@turnpike/billing/core';
import type { RequestContext } from '../../pipeline/context.js';
import type { LeaseFn, LeaseGrant } from './leaseBucket.js';
import { QuotaCounter } from './quotaCounter.js';
import { FailurePolicy } from './failurePolicy.js';
import { TokenBucket } from './tokenBucket.js';

export interface TrafficOptions {
  gateway: GatewayConfig;
  redis: RedisClient;
  keys: RedisKeys;
  logger: Logger;
  /** Replaces the clock for buckets, quota periods and metering days (tests roll periods over with it). */
  clock?: () => number;
}

interface TrafficCommands {
  tpThrottleLease(key: string, rate: number, burst: number, want: number, returned: number, now: number): Promise<[number, number, number]>;
  tpQuotaLease(key: string, limit: number, want: number, returned: number, periodLeftMs: number): Promise<[number, number]>;
}

const resolveModule = createRequire(import.meta.url).resolve;
const SCRIPTS = { tpThrottleLease: ['throttle-lease-1.lua', 1], tpQuotaLease: ['quota-lease-1.lua', 1] } as const;

/** How often spend caps are re-checked. */
const SPEND_CHECK_MS = 2_000;

/** Per-IP buckets idle this long are dropped (their leases have long expired). */
const IP_IDLE_MS = 10_000;
/**
 * Named buckets and quotas idle this long leave the tables, so keys that stopped calling do not pile
 * up; whoever still holds one (a route, a cached key) keeps using it, and a new one simply leases anew.
 */
const NAMED_IDLE_MS = 600_000;

/**
 * Everything one edge node needs for traffic management, built once per node from the gateway config:
 * the Redis scripts, the bound of its lease calls (the node's RedisGuard) and the failure policy, the
 * shared buckets, per-IP buckets, the API key cache and the usage meter. Stages get it through EdgeServices.
 */
export class TrafficControl {
  /** Throttle and quota leases: bounded by `gateway.throttle.redisTimeoutMs`. */
  readonly leases: RedisBound;
  /** What a lease that got no answer decides (`gateway.throttle.redisFailurePolicy`). */
  readonly fallback: FailurePolicy;
  readonly store: ApiKeyStore;
  readonly apiKeys: ApiKeyCache;
  readonly meter: UsageMeter;
  readonly spend: SpendGuard;
  readonly clock: () => number;
  private readonly commands: TrafficCommands;
  /** 0 tells the scripts to use Redis's clock, the one every node shares; an injected clock is passed. */
  private readonly scriptNow: () => number;
  private readonly named = new Map<string, TokenBucket>();
  private readonly perIp = new Map<string, TokenBucket>();
  private readonly quotas = new Map<string, QuotaCounter>();
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly metering: boolean;

  constructor(private readonly options: TrafficOptions) {
    const { gateway, redis, keys, logger } = options;
    this.clock = options.clock ?? Date.now;
    this.metering = gateway.metering.enabled;
    this.scriptNow = options.clock ?? (() => 0);
    for (const [name, [file, numberOfKeys]] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua: readFileSync(resolveModule(`@turnpike/redis/scripts/${file}`), 'utf8') });
    }
    this.commands = redis as unknown as TrafficCommands;
    const guard = RedisGuard.of(redis, logger);
    this.leases = guard.bound('throttle lease', gateway.throttle.redisTimeoutMs);
    this.fallback = new FailurePolicy(gateway.throttle.redisFailurePolicy, logger);
    this.store = new ApiKeyStore(redis, keys);
    this.apiKeys = new ApiKeyCache(this, gateway.apiKeys, guard.bound('api key lookup'), redis, logger);
    this.spend = new SpendGuard(new BillingService(this.store, new BillingStore(redis, keys), this.clock), logger, SPEND_CHECK_MS);
    this.meter = new UsageMeter({ store: this.store, bound: guard.bound('usage metering'), clock: this.clock, logger, billable: gateway.metering.billable, flushIntervalMs: gateway.metering.flushIntervalMs });
    this.sweepTimer = setInterval(() => this.sweep(), IP_IDLE_MS);
    this.sweepTimer.unref();
  }

  /** Called for every finished request. */
  readonly observe = (ctx: RequestContext): void => {
    if (this.metering) this.meter.record(ctx);
  };

  /**
   * The node's bucket for a named level. Route tables are rebuilt on every deployment; buckets with the
   * same name and limits survive the swap, so a redeploy neither resets nor strands a level's lease.
   */
  bucket(name: string, limits: ThrottleLimits): TokenBucket {
    const id = `${name}|${limits.rateLimit}|${limits.burstLimit}`;
    let b = this.named.get(id);
    if (!b) this.named.set(id, (b = this.newBucket(name, limits)));
    return b;
  }

  ipBucket(ip: string, limits: ThrottleLimits): TokenBucket {
    let b = this.perIp.get(ip);
    if (!b) this.perIp.set(ip, (b = this.newBucket(`ip:${ip}`, limits)));
    return b;
  }

  private newBucket(name: string, limits: ThrottleLimits): TokenBucket {
    const key = this.options.keys.tagged('bucket', name);
    const lease: LeaseFn = (want, returned) =>
      this.leases
        .call(() => this.commands.tpThrottleLease(key, limits.rateLimit, limits.burstLimit, want, returned, this.scriptNow()))
        .then(toGrant);
    return new TokenBucket(name, limits, lease);
  }

  /** A key's quota under a plan; like buckets, it outlives cache refreshes of the key. */
  quota(keyId: string, planId: string, quota: QuotaSettings): QuotaCounter {
    const id = `${keyId}|${planId}|${quota.limit}|${quota.period}`;
    let q = this.quotas.get(id);
    if (!q) this.quotas.set(id, (q = this.newQuota(keyId, planId, quota)));
    return q;
  }

  private newQuota(keyId: string, planId: string, quota: QuotaSettings): QuotaCounter {
    return new QuotaCounter(quota, (period: QuotaPeriod) => {
      const key = this.store.quotaKey(keyId, planId, period.id);
      return (want, returned) => {
        const left = Math.max(1, period.endsAt - this.clock());
        return this.leases
          .call(() => this.commands.tpQuotaLease(key, quota.limit, want, returned, left))
          .then(([granted, remaining]) => ({ granted, remaining, retryAfterMs: left }));
      };
    });
  }

  private sweep(): void {
    const now = this.clock();
    for (const [ip, b] of this.perIp) if (b.lastUsed < now - IP_IDLE_MS) this.perIp.delete(ip);
    for (const [id, b] of this.named) if (b.lastUsed < now - NAMED_IDLE_MS) this.named.delete(id);
    for (const [id, q] of this.quotas) if (q.lastUsed < now - NAMED_IDLE_MS) this.quotas.delete(id);
  }

  /** Flushes metered usage and stops listening for key changes. */
  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.spend.close();
    await this.meter.close();
    this.apiKeys.close();
  }
}

function toGrant([granted, remaining, retryAfterMs]: [number, number, number]): LeaseGrant {
  return { granted, remaining, retryAfterMs };
}
