import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClusterFixture, freePort, spawnTurnpike, type TurnpikeProcess } from '@turnpike/testing';
import { connectRedis, isCluster, scanKeys } from '@turnpike/redis';
import { eventually, request, turnpike } from '../../services/worker/test/helpers.js';
import { signedRequest } from '../../services/edge/test/websocket/signing.js';
import { TestClient } from '../../services/edge/test/websocket/wsClient.js';

/**
 * A whole deployment on a real 3-master Redis Cluster: two edges and a worker given only
 * `redis+cluster://...`; a keyed, throttled function route (sync and async), a WebSocket connection on
 * one edge reached through `@connections` on the other (a sharded pub/sub inbox), and the CLI.
 */
const dir = mkdtempSync(join(tmpdir(), 'tp-rcluster-'));
const configFile = join(dir, 'turnpike.yaml');
const auditFile = join(dir, 'audit.log');
const prefix = 'tpc';
let cluster: RedisClusterFixture;
let ports: [number, number];
/** The two edges take turns: even `i` the first, odd the second. */
const portOf = (i: number) => (i % 2 === 0 ? ports[0] : ports[1]);
const procs: TurnpikeProcess[] = [];
const clients: TestClient[] = [];
let apiKey: string;
let creds: { accessKeyId: string; secretAccessKey: string };

const cli = (...args: string[]) => turnpike([...args, '--redis', cluster.url, '--key-prefix', prefix, '--json']);

beforeAll(async () => {
  cluster = await RedisClusterFixture.start(3, 0);
  writeFileSync(join(dir, 'orders.mjs'), `export const handler = async (e) => ({ statusCode: 200, body: JSON.stringify({ order: JSON.parse(e.body).n }) });\n`);
  writeFileSync(join(dir, 'audit.mjs'), `import { appendFileSync } from 'node:fs';\nexport const handler = async (e) => { appendFileSync(${JSON.stringify(auditFile)}, e.body + '\\n'); };\n`);
  writeFileSync(
    configFile,
    `
gateway:
  redis: { url: "${cluster.url}", keyPrefix: ${prefix} }
  websocket: { heartbeatMs: 200, nodeTimeoutMs: 1000 }
  # A busy 2-core machine must not turn a slow answer into fail-open here: this test checks enforcement.
  throttle: { redisTimeoutMs: 1000 }
functions:
  orders: { handler: ${dir}/orders.handler }
  audit: { handler: ${dir}/audit.handler }
apis:
  - name: shop
    basePath: /shop
    stages: { prod: {} }
    routes:
      POST /orders: { integration: { type: function, function: orders }, apiKeyRequired: true }
      POST /audit: { integration: { type: function, function: audit, invocationType: Event } }
  - name: chat
    type: websocket
    stages: { prod: {} }
    websocket:
      routes:
        $connect: { integration: { type: mock } }
        $default: { integration: { type: mock } }
`,
  );
  const key = JSON.parse((await cli('keys', 'create', '--name', 'cluster')).stdout) as { id: string; value: string };
  apiKey = key.value;
  const plan = JSON.parse((await cli('plans', 'create', '--name', 'p', '--api-stage', 'shop/prod', '--rate', '10', '--burst', '20')).stdout) as { id: string };
  expect((await cli('plans', 'attach', '--plan', plan.id, '--key', key.id)).code).toBe(0);
  creds = JSON.parse((await cli('credentials', 'create')).stdout) as typeof creds;
  ports = [await freePort(), await freePort()];
  // The config names the cluster: no --redis flag.
  procs.push(...(await Promise.all([
    spawnTurnpike(['worker', '--config', configFile, '--concurrency', '2'], { readyEvent: 'ready', timeoutMs: 30_000 }),
    ...ports.map((p) => spawnTurnpike(['edge', '--config', configFile, '--port', String(p), '--management-port=-1'])),
  ])));
}, 120_000);

afterAll(async () => {
  if (process.env.TP_DEBUG) for (const p of procs) console.log(p.output());
  for (const c of clients) c.ws.terminate();
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  await cluster?.destroy();
});

const order = (port: number, n: number, key = apiKey) => request(port, { method: 'POST', path: '/shop/prod/orders', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ n }) });

describe('a deployment on Redis Cluster', () => {
  it('serves a keyed function route from both edges and throttles the key cluster-wide', async () => {
    expect((await order(ports[0], 1)).status).toBe(200);
    expect(JSON.parse((await order(ports[1], 2)).body.toString())).toEqual({ order: 2 });
    expect((await order(ports[0], 3, 'not-a-key')).status).toBe(403);
    // 60 calls at once across both edges: the plan's burst of 20 passes (plus what refills meanwhile),
    // the rest is refused. docs/traffic.md's bound for 2 nodes with a one-token lease: at least
    // burst − 2 × 1.25 tokens, at most burst + rate × t.
    const started = performance.now();
    const statuses = await Promise.all(Array.from({ length: 60 }, (_, i) => order(portOf(i), i).then((r) => r.status)));
    const elapsedS = (performance.now() - started) / 1000;
    const ok = statuses.filter((s) => s === 200).length;
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(ok).toBeGreaterThanOrEqual(17);
    expect(ok).toBeLessThanOrEqual(20 + Math.ceil(10 * elapsedS));
  });

  it('runs every async invocation once', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `a${i}`);
    const statuses = await Promise.all(ids.map((id, i) => request(portOf(i), { method: 'POST', path: '/shop/prod/audit', body: id }).then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([202]));
    const lines = await eventually(() => {
      const l = existsSync(auditFile) ? readFileSync(auditFile, 'utf8').trim().split('\n') : [];
      return l.length >= ids.length ? l : undefined;
    }, 'every async invocation');
    expect(lines.sort()).toEqual([...ids].sort());
  });

  it('delivers @connections to a connection held by the other edge (sharded pub/sub inbox)', async () => {
    const c = await TestClient.connect(`ws://127.0.0.1:${ports[1]}/prod`);
    clients.push(c);
    const redis = connectRedis({ url: cluster.url });
    try {
      if (!isCluster(redis)) throw new Error('redis+cluster:// gave no Cluster client');
      const id = await eventually(async () => {
        const k = (await scanKeys(redis, `${prefix}:wsconn:*`))[0];
        return k?.slice(k.indexOf('{') + 1, k.indexOf('}'));
      }, 'the registered connection');
      // Connection ids are base64: one with a '/' (about one in three) is a 404 unless encoded, as the SDK does.
      const r = await signedRequest(ports[0], 'POST', `/prod/@connections/${encodeURIComponent(id)}`, 'across the cluster', creds);
      expect(r.status).toBe(200);
      expect(await c.next()).toBe('across the cluster');
      // The inbox is a shard channel: its owning node lists this edge as a subscriber of it.
      const inbox = `${prefix}:wsnode:{`;
      const shardChannels = await Promise.all(redis.nodes('master').map((n) => n.call('PUBSUB', 'SHARDCHANNELS', `${inbox}*`) as Promise<string[]>));
      expect(shardChannels.flat().length).toBe(2);
    } finally {
      redis.disconnect();
    }
  });

  it('lists dead letters and keys through the CLI on the cluster', async () => {
    expect((await cli('dlq', 'list', '--config', configFile)).code).toBe(0);
    expect(JSON.parse((await cli('keys', 'list')).stdout)).toHaveLength(1);
  });
});
