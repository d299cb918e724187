import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Cluster } from 'ioredis';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '@turnpike/redis';
import { functionQueueKey } from '@turnpike/codec';
import { startClusterNode, type RedisServer } from '@turnpike/testing';

/**
 * Every Lua script, run on a real 3-node Redis Cluster with the keys the services build for it: a key
 * without the right hash tag would fail here with CROSSSLOT (or land a script's keys on two nodes).
 */
const require = createRequire(import.meta.url);
const scriptsDir = require.resolve('@turnpike/redis/scripts/throttle-lease-1.lua').replace(/throttle-lease-1\.lua$/, '');
const keys = new RedisKeys(`tpcluster-${process.pid}`);

/** For each script file: keys as the services build them, and valid arguments. */
const CALLS: Record<string, { keys: string[]; args: (string | number | Buffer)[] }> = {
  'throttle-lease-1.lua': { keys: [keys.tagged('bucket', 'gw')], args: [100, 200, 10, 0, 0] },
  'quota-lease-1.lua': { keys: [keys.tagged('quota', 'key1', 'plan1', '2026-11-26')], args: [1000, 10, 0, 60_000] },
  'function-enqueue-2.lua': { keys: [functionQueueKey(keys.prefix, 'orders', 'sync'), functionQueueKey(keys.prefix, 'orders', 'meta')], args: [60_000, Buffer.from('job')] },
  'function-reply-1.lua': { keys: [keys.tagged('reply', 'node-1')], args: [60_000, Buffer.from('reply')] },
  'usage-flush-2.lua': { keys: [keys.tagged('usage', 'key1', '2026-11-26'), keys.tagged('usage', 'key1', 'batches')], args: ['node-1:1', Date.now(), 172_800_000, 34_560_000_000, 'shop/prod/calls', 3, 'r|calls|shop|prod|GET /pets', 3] },
  'ws-deliver-1.lua': { keys: [keys.tagged('wsconn', 'conn-1')], args: [Buffer.from('envelope')] },
  'ws-node-beat-1.lua': { keys: [keys.tagged('wsnodes', 'live')], args: ['node-1', '1'] },
  'ws-node-claim-1.lua': { keys: [keys.tagged('wsnodes', 'live')], args: [30_000, 'node-1', 4] },
  'ws-conn-reap-1.lua': { keys: [keys.tagged('wsconn', 'conn-1')], args: ['node-2'] },
  'control-cas-3.lua': {
    keys: [keys.tagged('ctl', 'control', 'stages'), keys.tagged('ctl', 'control', 'revision'), keys.tagged('ctl', 'control', 'history', 'stage:shop/prod')],
    args: ['shop/prod', 0, '{"version":1}', '{"version":1}', 200, keys.tagged('ctl', 'control', 'changes')],
  },
};

const nodes: RedisServer[] = [];
let cluster: Cluster;

beforeAll(async () => {
  for (let i = 0; i < 3; i++) nodes.push(await startClusterNode(`nodes-${process.pid}-${i}.conf`));
  execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
  cluster = new Cluster(nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), { enableOfflineQueue: true });
  // The cluster is usable once every node agrees every slot is served (no event says so: poll, bounded).
  const deadline = Date.now() + 20_000;
  while (!nodes.every((n) => execFileSync('redis-cli', ['-p', String(n.port), 'CLUSTER', 'INFO']).toString().includes('cluster_state:ok'))) {
    if (Date.now() > deadline) throw new Error('the Redis Cluster did not come up within 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  cluster?.disconnect();
  await Promise.all(nodes.map((n) => n.destroy()));
});

describe('Lua scripts on Redis Cluster', () => {
  it('has a call for every script file', () => {
    expect(readdirSync(scriptsDir).filter((f) => f.endsWith('.lua')).sort()).toEqual(Object.keys(CALLS).sort());
  });

  it.each(Object.entries(CALLS))('%s runs with its keys in one slot', async (file, call) => {
    const declared = Number(/-(\d+)\.lua$/.exec(file)![1]);
    expect(call.keys).toHaveLength(declared);
    const [seed] = nodes;
    assert.isDefined(seed);
    const slots = new Set(call.keys.map((k) => Number(execFileSync('redis-cli', ['-p', String(seed.port), 'CLUSTER', 'KEYSLOT', k]).toString().trim())));
    expect(slots.size).toBe(1);
    const lua = readFileSync(`${scriptsDir}${file}`, 'utf8');
    await expect(cluster.eval(lua, call.keys.length, ...call.keys, ...call.args)).resolves.toBeDefined();
  });
});
