import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { SHARED_REDIS_URL, deletePrefix, testPrefix } from '@turnpike/testing';
import { RedisKeys, connectRedis, type RedisClient } from '@turnpike/redis';
import { ConnectionRegistry } from '../../src/websocket/registry.js';
import type { Connection } from '../../src/websocket/connection.js';

// The registry's node liveness against real Redis: nodes are ConnectionRegistry instances, each with its
// own Redis connection as separate edges have; connections are the fields the registry writes.
const prefix = testPrefix('wsregistry');
const keys = new RedisKeys(prefix);
const settings = { maxBufferedBytes: 65_536, slowConsumerPolicy: 'disconnect', heartbeatMs: 200, nodeTimeoutMs: 1_000, pingIntervalSeconds: 120 } as const;
const clients: RedisClient[] = [];
const admin = connectRedis({ url: SHARED_REDIS_URL, name: 'wsregistry-test' });
const nodesKey = keys.tagged('wsnodes', 'live');

afterAll(async () => {
  for (const c of clients) c.disconnect();
  admin.disconnect();
  await deletePrefix(SHARED_REDIS_URL, prefix);
});

function node(id: string, local: Connection[] = []) {
  const redis = connectRedis({ url: SHARED_REDIS_URL, name: `wsregistry-${id}` });
  clients.push(redis);
  const warnings: string[] = [];
  const sink = new Writable({
    write(line: Buffer, _enc, done) {
      const entry = JSON.parse(line.toString()) as { level: number; msg: string };
      if (entry.level === 40) warnings.push(entry.msg);
      done();
    },
  });
  const registry = new ConnectionRegistry(redis, keys, id, settings, pino({ level: 'warn' }, sink), () => local);
  return { registry, redis, warnings, local };
}

const connection = (id: string) =>
  ({ id, api: { id: 'chat' }, stage: { name: 'prod' }, connectedAt: 1, lastActiveAt: 1, sourceIp: '127.0.0.1', userAgent: 'test', closed: false, dirty: false }) as unknown as Connection;

/** Taken for dead: the node's heartbeat is put an hour in the past, as a stall that long would leave it. */
const stall = async (incarnation: string) => admin.zadd(nodesKey, Date.now() - 3_600_000, incarnation);

describe('websocket registry: node liveness', () => {
  it('removes a silent node exactly once, whichever nodes look, and never one that renewed', async () => {
    const [a, b, c] = [node('claim-a'), node('claim-b'), node('claim-c')];
    for (const n of [a, b, c]) await n.registry.heartbeat();
    b.registry.register(connection('claim-1'));
    await b.redis.ping(); // after the register's writes on the same connection
    expect(await admin.hget(keys.tagged('wsconn', 'claim-1'), 'node')).toBe('claim-b');

    // Renewed a moment ago: not claimed.
    await Promise.all([a.registry.heartbeat(), c.registry.heartbeat()]);
    expect(await admin.zscore(nodesKey, 'claim-b')).not.toBeNull();

    await stall('claim-b');
    await Promise.all([a.registry.heartbeat(), c.registry.heartbeat()]);
    expect(await admin.zscore(nodesKey, 'claim-b')).toBeNull();
    expect(await admin.exists(keys.tagged('wsconn', 'claim-1'), keys.tagged('wsnode', 'claim-b', 'conns'))).toBe(0);
    expect(await admin.zscore(nodesKey, 'claim-a')).not.toBeNull();
    expect(await admin.zscore(nodesKey, 'claim-c')).not.toBeNull();
  });

  it('removes the entries of a dead node whose first claimer died while removing them, and leaves a fresh claim alone', async () => {
    const a = node('orphan-a');
    const b = node('orphan-b', [connection('orphan-1')]);
    await b.registry.heartbeat();
    for (const conn of b.local) b.registry.register(conn);
    await b.redis.ping();
    // B is dead and was claimed an hour ago by a node that died before removing anything; C was claimed a
    // moment ago by a node still removing its entries.
    await admin.zadd(nodesKey, -(Date.now() - 3_600_000), 'orphan-b', -Date.now(), 'orphan-c');
    await a.registry.heartbeat();
    expect(await admin.exists(keys.tagged('wsconn', 'orphan-1'), keys.tagged('wsnode', 'orphan-b', 'conns'))).toBe(0);
    expect(await admin.zscore(nodesKey, 'orphan-b')).toBeNull();
    expect(Number(await admin.zscore(nodesKey, 'orphan-c'))).toBeLessThan(0);
    await admin.zrem(nodesKey, 'orphan-c');
  });

  it('registers its connections again after Redis lost the registry (a restart without persistence)', async () => {
    const b = node('lost-b', [connection('lost-1'), connection('lost-2')]);
    await b.registry.heartbeat();
    for (const conn of b.local) b.registry.register(conn);
    await b.redis.ping();
    const registryKeys = [nodesKey, keys.tagged('wsnode', 'lost-b', 'conns'), keys.tagged('wsconn', 'lost-1'), keys.tagged('wsconn', 'lost-2')];
    expect(await admin.exists(...registryKeys)).toBe(4);
    await admin.del(...registryKeys);

    await b.registry.heartbeat();
    await b.redis.ping();
    expect(await admin.smembers(keys.tagged('wsnode', 'lost-b#1', 'conns'))).toEqual(expect.arrayContaining(['lost-1', 'lost-2']));
    expect(await admin.hget(keys.tagged('wsconn', 'lost-2'), 'inbox')).toBe(b.registry.inbox);
    expect(b.warnings).toHaveLength(1);
  });

  it('keeps every connection of a node taken for dead while alive, while another node removes its old entries', async () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `alive-${i}`);
    const a = node('alive-a');
    const b = node('alive-b', ids.map(connection));
    await a.registry.heartbeat();
    await b.registry.heartbeat();
    for (const conn of b.local) b.registry.register(conn);
    await b.redis.ping();
    expect(await admin.scard(keys.tagged('wsnode', 'alive-b', 'conns'))).toBe(ids.length);

    // A claims B and starts removing its 20,000 entries (20 SSCAN pages); B's next heartbeat, meanwhile,
    // finds itself claimed and registers them all again.
    await stall('alive-b');
    const reaping = a.registry.heartbeat();
    // Claimed: scored minus the claim's time until A has removed the entries.
    while (Number(await admin.zscore(nodesKey, 'alive-b')) > 0);
    await b.registry.heartbeat();
    await reaping;
    await b.redis.ping();

    expect(b.warnings.filter((w) => w.includes('missing from the live set'))).toHaveLength(1);
    expect(await admin.zscore(nodesKey, 'alive-b#1')).not.toBeNull();
    expect(await admin.scard(keys.tagged('wsnode', 'alive-b#1', 'conns'))).toBe(ids.length);
    expect(await admin.exists(keys.tagged('wsnode', 'alive-b', 'conns'))).toBe(0);
    const owners = await Promise.all(ids.map((id) => admin.hget(keys.tagged('wsconn', id), 'node')));
    expect(owners.filter((o) => o !== 'alive-b#1')).toEqual([]);
    // Reachable from the other node: a lookup answers, and a delivery reaches B's inbox (one subscriber).
    const sub = connectRedis({ url: SHARED_REDIS_URL, name: 'wsregistry-inbox' });
    clients.push(sub);
    await sub.subscribe(b.registry.inbox);
    expect(await a.registry.lookup('alive-19999')).toMatchObject({ sourceIp: '127.0.0.1', userAgent: 'test' });
    expect(await a.registry.deliver('alive-0', Buffer.from('x'))).toBe(1);

    // A later heartbeat renews the new incarnation and registers nothing again.
    await b.registry.heartbeat();
    expect(b.warnings).toHaveLength(1);
    await b.registry.leave();
    expect(await admin.zscore(nodesKey, 'alive-b#1')).toBeNull();
  });
});
