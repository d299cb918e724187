import pino from 'pino';
import { afterAll, assert, afterEach, describe, expect, it } from 'vitest';
import { connectRedis, RedisKeys, type RedisClient } from '@turnpike/redis';
import { deletePrefix, RedisServer, SHARED_REDIS_URL, testPrefix } from '@turnpike/testing';
import { PolicyCache } from '../../src/services/authorization/cache/policyCache.js';
import { BoundedLru } from '../../src/services/authorization/cache/boundedLru.js';
import type { AuthorizerResult } from '../../src/services/authorization/lambda/result.js';
import { isAllowed } from '../../src/services/authorization/policy/policy.js';

const logger = pino({ level: 'silent' });
const prefix = testPrefix('authz-cache');
const keys = new RedisKeys(prefix);
const clients: RedisClient[] = [];
const result = (principalId: string): AuthorizerResult => ({ principalId, context: { tenant: 'acme', n: 1, ok: true }, usageIdentifierKey: null, allow: ['arn:*/GET/*'], deny: ['arn:*/GET/secret'] });

/** A node's cache, on its own fail-fast Redis connection (as every edge process has), once connected. */
async function node(url = SHARED_REDIS_URL, maxEntries?: number): Promise<PolicyCache> {
  const redis = connectRedis({ url, failFast: true });
  clients.push(redis);
  if (redis.status !== 'ready') await new Promise((r) => redis.once('ready', r));
  return new PolicyCache({ redis, keys, logger, maxEntries });
}

afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});
afterAll(() => deletePrefix(SHARED_REDIS_URL, prefix));

describe('the shared policy cache', () => {
  it('loads once, then answers from memory on this node and from Redis on another', async () => {
    const a = await node();
    const b = await node();
    let loads = 0;
    const load = async () => {
      loads++;
      return result('alice');
    };
    expect(a.peek('ns1', 'tok')).toBeUndefined();
    const first = await a.fetch('ns1', 'tok', 60_000, load);
    expect(first.result.principalId).toBe('alice');
    expect(a.peek('ns1', 'tok')).toBe(first);
    const shared = await b.fetch('ns1', 'tok', 60_000, load);
    expect(loads).toBe(1);
    expect(shared.result).toEqual({ principalId: 'alice', context: { tenant: 'acme', n: 1, ok: true }, usageIdentifierKey: null, allow: ['arn:*/GET/*'], deny: ['arn:*/GET/secret'] });
    // The copy on the other node expires when the shared entry does, not TTL after it was read.
    expect(shared.expiresAt).toBe(first.expiresAt);
    expect(isAllowed(shared.policy, 'arn:x/GET/pets')).toBe(true);
    expect(isAllowed(shared.policy, 'arn:x/GET/secret')).toBe(false);
    expect(a.stats).toMatchObject({ memoryHits: 1, sharedHits: 0, misses: 1 });
    expect(b.stats).toMatchObject({ memoryHits: 0, sharedHits: 1, misses: 0 });
  });

  it('stores results msgpack-encoded under a hashed key, never the raw identity', async () => {
    const a = await node();
    await a.fetch('ns2', 'Bearer very-secret-token', 60_000, async () => result('bob'));
    const r = connectRedis({ url: SHARED_REDIS_URL });
    clients.push(r);
    const found = await r.keys(`${prefix}:authz:*`);
    const mine = found.filter((k) => k.includes('{ns2.'));
    expect(mine).toHaveLength(1);
    const [key] = mine;
    assert.isDefined(key);
    expect(key).not.toContain('secret');
    const ttl = await r.pttl(key);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('expires entries with their TTL on every level', async () => {
    const a = await node();
    const b = await node();
    let loads = 0;
    const load = async () => result(`p${++loads}`);
    await a.fetch('ns3', 'tok', 150, load);
    await b.fetch('ns3', 'tok', 150, load);
    expect(loads).toBe(1);
    // No event exists for "a TTL has passed": poll with a bounded deadline.
    const deadline = Date.now() + 5000;
    while (a.peek('ns3', 'tok') !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(a.peek('ns3', 'tok')).toBeUndefined();
    expect(b.peek('ns3', 'tok')).toBeUndefined();
    const again = await b.fetch('ns3', 'tok', 150, load);
    expect(loads).toBe(2);
    expect(again.result.principalId).toBe('p2');
  });

  it('keeps namespaces (authorizer configurations) apart', async () => {
    const a = await node();
    let loads = 0;
    const load = async () => result(`p${++loads}`);
    await a.fetch('old-config', 'tok', 60_000, load);
    const fresh = await a.fetch('new-config', 'tok', 60_000, load);
    expect(loads).toBe(2);
    expect(fresh.result.principalId).toBe('p2');
  });

  it('runs one load for 100 concurrent misses of one key, and shares its failure', async () => {
    const a = await node();
    let loads = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const load = async () => {
      loads++;
      await gate;
      return result('carol');
    };
    const all = Array.from({ length: 100 }, () => a.fetch('ns4', 'tok', 60_000, load));
    release();
    const entries = await Promise.all(all);
    expect(loads).toBe(1);
    expect(new Set(entries).size).toBe(1);

    let failing = 0;
    const boom = async () => {
      failing++;
      throw new Error('authorizer down');
    };
    const failed = await Promise.allSettled(Array.from({ length: 20 }, () => a.fetch('ns4', 'other', 60_000, boom)));
    expect(failing).toBe(1);
    expect(failed.every((f) => f.status === 'rejected')).toBe(true);
    // A failure is not cached: the next request tries again.
    await expect(a.fetch('ns4', 'other', 60_000, async () => result('dave'))).resolves.toMatchObject({ result: { principalId: 'dave' } });
  });

  it('treats a Redis outage as a miss and keeps deciding', async () => {
    const server = await RedisServer.start();
    try {
      const a = await node(server.url);
      let loads = 0;
      const load = async () => result(`p${++loads}`);
      await a.fetch('ns5', 'tok', 60_000, load);
      await server.stop();
      // The node's own copy still answers, and a new identity is still decided by the authorizer.
      expect(a.peek('ns5', 'tok')?.result.principalId).toBe('p1');
      const other = await a.fetch('ns5', 'tok2', 60_000, load);
      expect(other.result.principalId).toBe('p2');
      expect(a.stats.redisErrors).toBeGreaterThan(0);
    } finally {
      await server.destroy();
    }
  });
});

describe('the per-node LRU', () => {
  it('is bounded and evicts the least recently used entry', () => {
    const lru = new BoundedLru<{ expiresAt: number }>(2);
    const now = Date.now();
    lru.set('a', { expiresAt: now + 1000 });
    lru.set('b', { expiresAt: now + 1000 });
    expect(lru.get('a', now)).toBeDefined(); // a is now the most recent
    lru.set('c', { expiresAt: now + 1000 });
    expect(lru.size).toBe(2);
    expect(lru.get('b', now)).toBeUndefined();
    expect(lru.get('a', now)).toBeDefined();
    expect(lru.get('c', now + 1000)).toBeUndefined(); // expired at its expiresAt
    expect(() => new BoundedLru(0)).toThrow(RangeError);
  });

  it('finds long keys (JWT-sized tokens) by their ends and answers only for the whole key', () => {
    const lru = new BoundedLru<{ expiresAt: number; v: string }>(10);
    const now = Date.now();
    const later = now + 1000;
    const header = 'ns-a\0Bearer eyJhbGciOiJSUzI1NiJ9.';
    const middle = (c: string) => c.repeat(700);
    const sig = '.' + 's'.repeat(60);
    const one = header + middle('a') + sig;
    const two = header + middle('b') + sig; // same length, start and end: the same slot
    lru.set(one, { expiresAt: later, v: 'one' });
    // A new string with the same characters, as each request's header value is.
    expect(lru.get((' ' + one).slice(1), now)?.v).toBe('one');
    expect(lru.get(two, now)).toBeUndefined();
    lru.set(two, { expiresAt: later, v: 'two' });
    expect(lru.get(two, now)?.v).toBe('two');
    expect(lru.get(one, now)).toBeUndefined();
    // The same token under another namespace (another authorizer) is another slot.
    const other = 'ns-b' + two.slice(4);
    lru.set(other, { expiresAt: later, v: 'other' });
    expect(lru.get(two, now)?.v).toBe('two');
    expect(lru.get(other, now)?.v).toBe('other');
    expect(lru.size).toBe(2);
  });

  it('bounds the policy cache per node', async () => {
    const a = await node(SHARED_REDIS_URL, 3);
    for (let i = 0; i < 5; i++) await a.fetch('ns6', `t${i}`, 60_000, async () => result(`p${i}`));
    expect(a.peek('ns6', 't0')).toBeUndefined();
    expect(a.peek('ns6', 't4')).toBeDefined();
  });
});

