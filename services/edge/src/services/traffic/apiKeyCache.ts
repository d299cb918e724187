import type { Logger } from 'pino';
import { digestKeyValueHex, duplicateRedis, type ApiKeyRecord, type ResolvedApiKey, type UsagePlan, type RedisClient } from '@turnpike/redis';
import type { TrafficControl } from './trafficControl.js';
import type { TokenBucket } from './tokenBucket.js';
import type { QuotaCounter } from './quotaCounter.js';
import type { RedisBound } from '../../redis/redisGuard.js';

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
  /** When Redis last confirmed this entry (the traffic clock). */
  readonly checkedAt: number;
}

/** Past this many cached values the cache starts over: a flood of random keys must not grow memory. */
const MAX_ENTRIES = 100_000;

/**
 * Validated API keys per edge node, by the SHA-256 of the presented value (never the value itself; only
 * the last value presented is kept beside its digest, so that a repeated key is not hashed again).
 *
 * An entry is fresh for `cacheTtlMs`; after that it is stale for up to `maxStaleMs` more: still served at
 * once while one background lookup per key checks it again (stale-while-revalidate), so a valid key never
 * waits on Redis and never gets a 503 burst when Redis is slow, down, or just back. Past `maxStaleMs`
 * without a successful check the entry is dropped and the request waits for the lookup (503 if Redis
 * cannot answer). A key this node has never verified cannot be admitted without Redis: 503.
 *
 * The store announces every change on a pub/sub channel and the entry is dropped at once, so disabling
 * a key takes effect within a round trip on every node. After the subscriber reconnects (changes may
 * have been missed) every entry becomes stale: the next request of each key checks it again.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, CachedKey>();
  private readonly loading = new Map<string, Promise<CachedKey>>();
  private readonly subscriber: RedisClient;
  private readonly ttlMs: number;
  private readonly maxStaleMs: number;
  /** Entries checked before this instant are stale whatever their age (set when change messages may have been missed). */
  private resyncedAt = -Infinity;
  /**
   * The value hashed last and its digest: clients send one key request after request, and reusing the
   * digest string also reuses its computed hash for the map lookup (together ~0.7 µs per request).
   */
  private lastValue = '';
  private lastDigest = '';

  constructor(
    private readonly traffic: TrafficControl,
    settings: { readonly cacheTtlMs: number; readonly maxStaleMs: number },
    private readonly bound: RedisBound,
    redis: RedisClient,
    logger: Logger,
  ) {
    this.ttlMs = settings.cacheTtlMs;
    this.maxStaleMs = settings.maxStaleMs;
    const channel = traffic.store.changesChannel;
    this.subscriber = duplicateRedis(redis, { name: 'turnpike-edge-key-changes', enableOfflineQueue: true, maxRetriesPerRequest: null, blocking: true });
    this.subscriber.on('message', (_channel: string, digest: string) => {
      // A lookup already in flight may have read the record before the change: it must not store it.
      if (digest === '*') {
        this.entries.clear();
        this.loading.clear();
      } else {
        this.entries.delete(digest);
        this.loading.delete(digest);
      }
    });
    let connectedBefore = false;
    this.subscriber.on('ready', () => {
      if (connectedBefore) this.resyncedAt = this.traffic.clock();
      connectedBefore = true;
    });
    this.subscriber.subscribe(channel).catch((err: unknown) => logger.warn({ err }, 'api key change subscription failed; relying on cache expiry'));
  }

  /** The cached entry when fresh or stale-but-servable, otherwise a Promise of it (lookups of one value are shared). */
  lookup(value: string): CachedKey | Promise<CachedKey> {
    let digest = this.lastDigest;
    if (value !== this.lastValue) {
      digest = this.lastDigest = digestKeyValueHex(value);
      this.lastValue = value;
    }
    const hit = this.entries.get(digest);
    if (hit !== undefined) {
      const age = this.traffic.clock() - hit.checkedAt;
      if (age < this.ttlMs && hit.checkedAt >= this.resyncedAt) return hit;
      if (age < this.ttlMs + this.maxStaleMs) {
        this.load(value, digest, hit).catch(ignore);
        return hit;
      }
      this.entries.delete(digest);
    }
    return this.load(value, digest, undefined);
  }

  private load(value: string, digest: string, stale: CachedKey | undefined): Promise<CachedKey> {
    let p = this.loading.get(digest);
    if (p === undefined) {
      const loading: Promise<CachedKey> = this.bound
        .call(() => this.traffic.store.resolveKey(value))
        .then(
          (resolved) => {
            const entry = this.build(resolved);
            if (this.loading.get(digest) !== loading) return entry; // superseded by a change message
            this.loading.delete(digest);
            if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
            this.entries.set(digest, entry);
            return entry;
          },
          (err: unknown) => {
            if (this.loading.get(digest) === loading) this.loading.delete(digest);
            if (stale !== undefined) return stale;
            throw err;
          },
        );
      this.loading.set(digest, (p = loading));
    }
    return p;
  }

  private build(resolved: ResolvedApiKey | null): CachedKey {
    const checkedAt = this.traffic.clock();
    const bindings = new Map<string, Map<string, PlanBinding>>();
    if (resolved === null) return { key: null, bindings, checkedAt };
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
    return { key, bindings, checkedAt };
  }

  close(): void {
    this.subscriber.disconnect();
  }
}

function ignore(): void {}
