import { createHash } from 'node:crypto';
import type { RedisClient } from '@turnpike/redis';
import type { Logger } from 'pino';
import { decode, encode } from '@turnpike/codec';
import type { RedisKeys } from '@turnpike/redis';
import { NO_ALLOW, compilePolicy, type CompiledPolicy, type PolicyDecision } from '../policy/policy.js';
import type { AuthorizerResult } from '../lambda/result.js';
import { RedisGuard, type RedisBound } from '../../../redis/redisGuard.js';
import { BoundedLru } from './boundedLru.js';

/**
 * The authorizer policy cache every edge node shares: authorizer results in Redis (msgpackr, expiring
 * with the authorizer's TTL), fronted on each node by a small LRU of compiled entries that expire when
 * the shared entry does (the shared entry's own expiry time is stored in it and copied, so a node never
 * serves a result longer than the TTL the authorizer was first asked under).
 *
 * Keys are namespaced by a hash of the authorizer's configuration, so changing an authorizer (function,
 * identity sources, TTL...) leaves its old entries unreachable to expire on their own. Identity values
 * are hashed before they become Redis keys: tokens are secrets and must not show up in `KEYS` or `MONITOR`.
 *
 * Concurrent misses for one key on one node share one lookup (single flight); across nodes, whichever
 * finishes first fills Redis for the others. Redis being down is a miss, never an error: the authorizer
 * still decides, only the sharing is lost. Both the read and the write are bounded by the node's
 * RedisGuard (gateway.redis.timeoutMs, at once while Redis is known to be down), so a slow Redis costs a
 * request at most two bounds on a miss, and nothing on a hit in this node's memory.
 */

export interface CacheEntry {
  readonly result: AuthorizerResult;
  readonly policy: CompiledPolicy;
  /** Epoch ms; the same instant on every node. */
  readonly expiresAt: number;
  /** The last method ARN evaluated and its outcome: a client repeating one call skips the RegExp. */
  lastArn: string | null;
  lastDecision: PolicyDecision;
}

/** Lookups by where they were answered; read by metrics and tests. */
export interface PolicyCacheStats {
  memoryHits: number;
  sharedHits: number;
  misses: number;
  redisErrors: number;
}

interface Stored {
  v: 1;
  p: string | null;
  c: Record<string, unknown> | null;
  u: string | null;
  a: string[];
  d: string[];
  e: number;
}

export interface PolicyCacheOptions {
  redis: RedisClient;
  keys: RedisKeys;
  logger: Logger;
  /** Entries kept per node (default 10,000). */
  maxEntries?: number;
}

export class PolicyCache {
  readonly stats: PolicyCacheStats = { memoryHits: 0, sharedHits: 0, misses: 0, redisErrors: 0 };
  private readonly memory: BoundedLru<CacheEntry>;
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  private readonly bound: RedisBound;
  private redisDown = false;

  constructor(private readonly options: PolicyCacheOptions) {
    this.memory = new BoundedLru(options.maxEntries ?? 10_000);
    this.bound = RedisGuard.of(options.redis, options.logger).bound('authorizer policy cache');
  }

  /** This node's live entry, without waiting: the hot path. `now`: the request's time, when a clock was read for it already. */
  peek(namespace: string, identity: string, now = Date.now()): CacheEntry | undefined {
    const e = this.memory.get(namespace + '\0' + identity, now);
    if (e !== undefined) this.stats.memoryHits++;
    return e;
  }

  /** The shared entry, or `load`'s result stored for `ttlMs`; one lookup per key per node at a time. */
  fetch(namespace: string, identity: string, ttlMs: number, load: () => Promise<AuthorizerResult>): Promise<CacheEntry> {
    const key = namespace + '\0' + identity;
    let p = this.inflight.get(key);
    if (p === undefined) {
      p = this.lookup(key, namespace, identity, ttlMs, load).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async lookup(key: string, namespace: string, identity: string, ttlMs: number, load: () => Promise<AuthorizerResult>): Promise<CacheEntry> {
    const redisKey = this.options.keys.tagged('authz', `${namespace}.${createHash('sha256').update(identity).digest('base64url')}`);
    try {
      const buf = await this.bound.call(() => this.options.redis.getBuffer(redisKey));
      this.redisUp();
      const stored = buf ? storedEntry(buf) : null;
      if (stored && stored.e > Date.now()) {
        this.stats.sharedHits++;
        return this.remember(key, { principalId: stored.p, context: stored.c, usageIdentifierKey: stored.u, allow: stored.a, deny: stored.d }, stored.e);
      }
    } catch (err) {
      this.redisFailed(err);
    }
    this.stats.misses++;
    const result = await load();
    const expiresAt = Date.now() + ttlMs;
    const entry = this.remember(key, result, expiresAt);
    const stored: Stored = { v: 1, p: result.principalId, c: result.context as Record<string, unknown> | null, u: result.usageIdentifierKey, a: [...result.allow], d: [...result.deny], e: expiresAt };
    try {
      // Awaited so that a request answered by this node is visible to the next one on any node.
      await this.bound.call(() => this.options.redis.set(redisKey, encode(stored), 'PX', ttlMs));
      this.redisUp();
    } catch (err) {
      this.redisFailed(err);
    }
    return entry;
  }

  private remember(key: string, result: AuthorizerResult, expiresAt: number): CacheEntry {
    const entry: CacheEntry = { result, policy: compilePolicy(result), expiresAt, lastArn: null, lastDecision: NO_ALLOW };
    this.memory.set(key, entry);
    return entry;
  }

  private redisFailed(err: unknown): void {
    this.stats.redisErrors++;
    // Logged on the transition only: during an outage every request would log otherwise.
    if (!this.redisDown) this.options.logger.warn({ err }, 'authorizer cache: Redis unavailable, authorizers decide without the shared cache');
    this.redisDown = true;
  }

  private redisUp(): void {
    if (!this.redisDown) return;
    this.redisDown = false;
    this.options.logger.info('authorizer cache: Redis available again');
  }
}

/** A stored entry, or null for anything this version did not write (treated as a miss). */
function storedEntry(buf: Buffer): Stored | null {
  let s: unknown;
  try {
    s = decode(buf);
  } catch {
    return null;
  }
  const o = s as Partial<Stored> | null;
  if (!o || o.v !== 1 || typeof o.e !== 'number' || !Array.isArray(o.a) || !Array.isArray(o.d)) return null;
  return o as Stored;
}
