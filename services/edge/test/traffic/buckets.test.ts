import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, deletePrefix, testPrefix } from '@turnpike/testing';
import { connectRedis } from '@turnpike/redis';
import { TestClock, get, startTrafficEdge, statuses } from './trafficFixtures.js';

const resolveScript = createRequire(import.meta.url).resolve;
const prefix = testPrefix('bucket');
const redis = connectRedis({ url: SHARED_REDIS_URL, name: 'bucket-test' });
redis.defineCommand('lease', { numberOfKeys: 1, lua: readFileSync(resolveScript('@turnpike/redis/scripts/throttle-lease-1.lua'), 'utf8') });
redis.defineCommand('quota', { numberOfKeys: 1, lua: readFileSync(resolveScript('@turnpike/redis/scripts/quota-lease-1.lua'), 'utf8') });
type Lease = (key: string, rate: number, burst: number, want: number, returned: number, now: number) => Promise<[number, number, number]>;
type Quota = (key: string, limit: number, want: number, returned: number, leftMs: number) => Promise<[number, number]>;
const lease = (redis as unknown as { lease: Lease }).lease.bind(redis);
const quota = (redis as unknown as { quota: Quota }).quota.bind(redis);

afterAll(async () => {
  redis.disconnect();
  await deletePrefix(SHARED_REDIS_URL, prefix);
});

describe('throttle-lease-1.lua', () => {
  it('starts full, grants up to the burst, then refills at the rate', async () => {
    const k = `${prefix}:bucket:{a}`;
    const t = 1_000_000;
    expect(await lease(k, 10, 5, 3, 0, t)).toEqual([3, 2, 0]);
    expect(await lease(k, 10, 5, 3, 0, t)).toEqual([2, 0, 0]);
    // Empty: nothing granted, and the next whole token is 100 ms away at 10/s.
    expect(await lease(k, 10, 5, 3, 0, t)).toEqual([0, 0, 100]);
    expect(await lease(k, 10, 5, 3, 0, t + 40)).toEqual([0, 0, 60]);
    expect(await lease(k, 10, 5, 3, 0, t + 250)).toEqual([2, 0, 0]);
    // A long idle period refills to the burst, never beyond it.
    expect(await lease(k, 10, 5, 100, 0, t + 60_000)).toEqual([5, 0, 0]);
  });

  it('takes back unspent tokens, capped at the burst', async () => {
    const k = `${prefix}:bucket:{b}`;
    expect(await lease(k, 1, 4, 4, 0, 5_000)).toEqual([4, 0, 0]);
    expect(await lease(k, 1, 4, 1, 3, 5_000)).toEqual([1, 2, 0]);
    expect(await lease(k, 1, 4, 1, 50, 5_000)).toEqual([1, 3, 0]);
  });

  it('lets an idle bucket expire once it would be full again', async () => {
    const k = `${prefix}:bucket:{c}`;
    await lease(k, 2, 10, 10, 0, 0);
    const ttl = await redis.pttl(k);
    expect(ttl).toBeGreaterThan(5_000);
    expect(ttl).toBeLessThanOrEqual(6_000);
  });

  it('a burst of 0 never admits', async () => {
    expect((await lease(`${prefix}:bucket:{z}`, 100, 0, 1, 0, 1))[0]).toBe(0);
  });
});

describe('quota-lease-1.lua', () => {
  it('grants up to the limit, then nothing; returned requests can be granted again', async () => {
    const k = `${prefix}:quota:{k}:p:2026-11-26`;
    expect(await quota(k, 5, 3, 0, 1000)).toEqual([3, 2]);
    expect(await quota(k, 5, 3, 0, 1000)).toEqual([2, 0]);
    expect(await quota(k, 5, 3, 0, 1000)).toEqual([0, 0]);
    expect(await quota(k, 5, 3, 1, 1000)).toEqual([1, 0]);
    expect(await redis.pttl(k)).toBeGreaterThan(86_400_000);
  });
});

describe('token bucket through the edge (injected clock)', () => {
  const clock = new TestClock();
  let edge: Edge;
  beforeAll(async () => {
    edge = await startTrafficEdge(
      // What is tested is the bucket, not the Redis guard: with the default 50 ms, a lease that a busy
      // machine delays past it is admitted without RateLimit headers (fail open), which would read as a
      // wrong count. redisFault.test.ts covers the guard.
      `
gateway:
  throttle: { redisTimeoutMs: 5000 }
apis:
  - name: b
    routes:
      GET /r:
        throttle: { rateLimit: 2, burstLimit: 4 }
        integration: { type: mock, body: ok }
      GET /burst:
        throttle: { rateLimit: 10, burstLimit: 20 }
        integration: { type: mock, body: ok }
`,
      { clock, keyPrefix: prefix },
    );
  });
  afterAll(() => edge.stop(1000));

  it('admits the burst at once, then one request per refill interval', async () => {
    expect(await statuses(4, edge.port, '/r')).toEqual([200, 200, 200, 200]);
    const refused = await get(edge.port, '/r');
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({ message: 'Too Many Requests' });
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['ratelimit-limit']).toBe('4');
    expect(refused.headers['ratelimit-remaining']).toBe('0');

    clock.advance(500); // 2/s: one token
    expect(await statuses(2, edge.port, '/r')).toEqual([200, 429]);
    clock.advance(60_000); // refills to the burst, not beyond
    expect(await statuses(5, edge.port, '/r')).toEqual([200, 200, 200, 200, 429]);
  });

  it('counts down RateLimit-Remaining and says when the bucket is full again', async () => {
    clock.advance(60_000);
    const first = await get(edge.port, '/r');
    expect(first.headers['ratelimit-remaining']).toBe('3');
    expect(first.headers['ratelimit-reset']).toBe('1'); // 1 token missing at 2/s
    const second = await get(edge.port, '/r');
    expect(second.headers['ratelimit-remaining']).toBe('2');
  });

  it('admits the whole burst of concurrent requests, not one lease per refill', async () => {
    // rate 10: a lease is one token. Sixty requests arriving together wait on the same lease; the next
    // lease must be sized to them, or each round trip admits one and the rest give up after MAX_REFILLS
    // (this admitted 5 of 20). The clock stands still, so exactly the burst is due.
    const replies = await Promise.all(Array.from({ length: 60 }, () => get(edge.port, '/burst')));
    const admitted = replies.filter((r) => r.status === 200).length;
    expect(replies.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([]);
    expect(admitted).toBe(20);
  });
});

describe('token bucket through the edge (Redis clock)', () => {
  let edge: Edge;
  beforeAll(async () => {
    edge = await startTrafficEdge(
      `
gateway:
  throttle: { redisTimeoutMs: 5000 }
apis:
  - name: b
    routes:
      GET /burst:
        throttle: { rateLimit: 10, burstLimit: 20 }
        integration: { type: mock, body: ok }
`,
      { keyPrefix: prefix },
    );
  });
  afterAll(() => edge.stop(1000));

  it('a burst of 60 at rate 10, burst 20 admits the burst plus what refilled meanwhile (docs/traffic.md)', async () => {
    const started = performance.now();
    const replies = await Promise.all(Array.from({ length: 60 }, () => get(edge.port, '/burst')));
    const elapsedS = (performance.now() - started) / 1000;
    const admitted = replies.filter((r) => r.status === 200).length;
    expect(replies.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([]);
    // No over-admission: at most burst + rate × t. At least burst − 1.25 × lease (lease 1 token here).
    expect(admitted).toBeLessThanOrEqual(20 + Math.ceil(10 * elapsedS));
    expect(admitted).toBeGreaterThanOrEqual(19);
  });
});
