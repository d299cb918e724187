import type { Logger } from 'pino';
import { digestKeyValue, duplicateRedis, type ApiKeyRecord, type ResolvedApiKey, type UsagePlan, type RedisClient } from '@turnpike/redis';
import type { TrafficControl } from '../throttle/trafficControl.js';
import type { TokenBucket } from '../throttle/tokenBucket.js';
import type { QuotaCounter } from '../throttle/quotaCounter.js';

/** What a key gets on one API stage through its usage plan. */
export interface PlanBinding {
  readonly keyId: string;
  readonly plan: UsagePlan;
  readonly bucket: TokenBucket | null;
  readonly quota: QuotaCounter | null;
}

export interface CachedKey {
  /** null: no key has this value. */
  readonly key: ApiKeyRecord | null;
  /** apiId → stage → binding; a key without a binding for the request's stage is refused. */
  readonly bindings: ReadonlyMap<string, ReadonlyMap<string, PlanBinding>>;
  readonly expiresAt: number;
}

/** Past this many cached values the cache starts over: a flood of random keys must not grow memory. */
const MAX_ENTRIES = 100_000;

/**
 * Validated API keys per edge node, by the SHA-256 of the presented value (never the value itself).
 * Entries live `ttlMs`; the store announces every change on a pub/sub channel and the entry is dropped
 * at once, so disabling a key takes effect within a round trip on every node. If Redis is down an
 * expired entry is still used: a key this node has verified stays usable through an outage, a key it
 * has never seen cannot be verified and gets 503.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, CachedKey>();
  private readonly loading = new Map<string, Promise<CachedKey>>();
  private readonly subscriber: RedisClient;

  constructor(
    private readonly traffic: TrafficControl,
    private readonly ttlMs: number,
    redis: RedisClient,
    logger: Logger,
  ) {
    const channel = traffic.store.changesChannel;
    this.subscriber = duplicateRedis(redis, { name: 'turnpike-edge-key-changes', enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriber.on('message', (_channel: string, digest: string) => {
      if (digest === '*') this.entries.clear();
      else this.entries.delete(digest);
    });
    let connectedBefore = false;
    // Changes published while the subscriber was disconnected are lost: start over after a reconnect.
    this.subscriber.on('ready', () => {
      if (connectedBefore) this.entries.clear();
      connectedBefore = true;
    });
    this.subscriber.subscribe(channel).catch((err: unknown) => logger.warn({ err }, 'api key change subscription failed; relying on cache expiry'));
  }

  /** The cached entry when fresh, otherwise a Promise of it (Redis lookups of one value are shared). */
  lookup(value: string): CachedKey | Promise<CachedKey> {
    const digest = digestKeyValue(value).toString('hex');
    const hit = this.entries.get(digest);
    const now = this.traffic.clock();
    if (hit !== undefined && now < hit.expiresAt) return hit;
    let p = this.loading.get(digest);
    if (p === undefined) {
      p = this.traffic.guard
        .call(() => this.traffic.store.resolveKey(value))
        .then(
          (resolved) => {
            this.loading.delete(digest);
            const entry = this.build(resolved);
            if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
            this.entries.set(digest, entry);
            return entry;
          },
          (err: unknown) => {
            this.loading.delete(digest);
            if (hit !== undefined) return hit;
            throw err;
          },
        );
      this.loading.set(digest, p);
    }
    return p;
  }

  private build(resolved: ResolvedApiKey | null): CachedKey {
    const expiresAt = this.traffic.clock() + this.ttlMs;
    const bindings = new Map<string, Map<string, PlanBinding>>();
    if (resolved === null) return { key: null, bindings, expiresAt };
    const { key, plans } = resolved;
    for (const plan of plans) {
      const binding: PlanBinding = {
        keyId: key.id,
        plan,
        bucket: plan.throttle ? this.traffic.bucket(`plan:${plan.id}:${key.id}`, plan.throttle) : null,
        quota: plan.quota ? this.traffic.quota(key.id, plan.id, plan.quota) : null,
      };
      for (const s of plan.apiStages) {
        let byStage = bindings.get(s.apiId);
        if (!byStage) bindings.set(s.apiId, (byStage = new Map()));
        byStage.set(s.stage, binding);
      }
    }
    return { key, bindings, expiresAt };
  }

  close(): void {
    this.subscriber.disconnect();
  }
}
