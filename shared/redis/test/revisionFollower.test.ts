import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connectRedis, RedisKeys, RevisionFollower, type RevisionToServe } from '@turnpike/redis';
import { deletePrefix, SHARED_REDIS_URL, testPrefix } from '@turnpike/testing';

/**
 * RevisionFollower on the shared Redis, with the control plane's keys written as the store writes them:
 * what edges and workers rely on (docs/versions.md), without an edge or a worker around it.
 */
const prefix = testPrefix('revision-follower');
const keys = new RedisKeys(prefix);
const redis = connectRedis({ url: SHARED_REDIS_URL, name: 'revision-follower-test' });
const key = (...parts: string[]) => keys.tagged('ctl', 'control', ...parts);
const followers: RevisionFollower[] = [];

/** A new revision, announced on pub/sub as the store's change script does, or written silently. */
async function bump(announce = true): Promise<number> {
  const revision = await redis.incr(key('revision'));
  if (announce) await redis.publish(key('changes'), String(revision));
  return revision;
}

/**
 * A follower that records what it is asked to serve. `hook` runs first and may throw (the revision stays
 * unserved) or hold the load; `served(r)` resolves once revision r has been served.
 */
function follow(opts: { pollMs: number; hook?: (next: RevisionToServe) => Promise<void> | void; onLoadError?: (err: unknown) => void }) {
  const seen: RevisionToServe[] = [];
  const waiting: { revision: number; resolve: () => void }[] = [];
  let current = -1;
  const follower = new RevisionFollower({
    redis,
    keys,
    connectionName: 'revision-follower-test-sub',
    pollMs: opts.pollMs,
    settled: (r) => r === current,
    serve: async (next) => {
      seen.push(next);
      await opts.hook?.(next);
      current = next.snapshot.revision;
      for (const w of waiting.filter((w) => w.revision <= current)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
    },
    onLoadError: opts.onLoadError ?? (() => {}),
  });
  followers.push(follower);
  const served = (revision: number) => (revision <= current ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ revision, resolve })));
  return { follower, seen, served };
}

afterEach(async () => {
  await Promise.all(followers.splice(0).map((f) => f.close()));
});

afterAll(async () => {
  await deletePrefix(SHARED_REDIS_URL, prefix);
  redis.disconnect();
});

describe('RevisionFollower', () => {
  it('serves the revision at start, then announced ones; revisions announced while a load is held are served once, at the newest', async () => {
    const start = await bump(false);
    let entered: () => void = () => {};
    const held = new Promise<void>((resolve) => (entered = resolve));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { follower, seen, served } = follow({
      pollMs: 60_000,
      hook: async (next) => {
        if (next.snapshot.revision !== start + 1) return;
        entered();
        await gate;
      },
    });
    await follower.start();
    expect(seen.map((s) => s.snapshot.revision)).toEqual([start]);

    await bump();
    await held;
    for (let i = 0; i < 3; i++) await bump();
    // Whether each announcement reaches the follower before or after the gate opens, every load from
    // now on reads start+4.
    release();
    await served(start + 4);
    expect(seen.map((s) => s.snapshot.revision)).toEqual([start, start + 1, start + 4]);
  });

  it('finds a revision that was never announced at its periodic check', async () => {
    const { follower, served } = follow({ pollMs: 50 });
    await follower.start();
    await served(await bump(false));
  });

  it('hands serve the deployments the stages reference, and the referenced ones that do not exist', async () => {
    const deployment = { api: 'shop', id: 'd1', hash: 'h', description: '', createdAt: '', createdBy: 'test', definition: {} };
    await redis.hset(key('deployments', 'shop'), 'd1', JSON.stringify(deployment));
    const stage = (name: string, deploymentId: string) => JSON.stringify({ api: 'shop', name, version: 1, deploymentId, variables: {}, throttle: null, canary: null, updatedAt: '', updatedBy: 'test' });
    await redis.hset(key('stages'), 'shop/prod', stage('prod', 'd1'), 'shop/beta', stage('beta', 'd2'));
    const { follower, seen } = follow({ pollMs: 60_000 });
    await follower.start();
    const last = seen.at(-1);
    expect([...(last?.deployments.keys() ?? [])]).toEqual(['shop/d1']);
    expect(last?.missing).toEqual([{ api: 'shop', id: 'd2' }]);
    await redis.hdel(key('stages'), 'shop/prod', 'shop/beta');
  });

  it('loads a revision again when serving it failed, and reports the failure', async () => {
    const revision = await bump(false);
    const failures: unknown[] = [];
    let tries = 0;
    const { follower, served } = follow({
      pollMs: 50,
      hook: () => {
        if (tries++ === 0) throw new Error('first try fails');
      },
      onLoadError: (err) => failures.push(err),
    });
    await follower.start();
    await served(revision);
    expect(tries).toBe(2);
    expect(failures).toEqual([new Error('first try fails')]);
  });
});
