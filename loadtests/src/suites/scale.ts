import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore, signSigV4 } from '@turnpike/edge';
import { ApiKeyStore, RedisKeys, connectRedis, scanKeys, whenConnected } from '@turnpike/redis';
import { freePort, startClusterNode, type RedisServer } from '@turnpike/testing';
import { cpuMs, measure, report, type Result, type Target } from '../harness.js';
import { ROOT, TURNPIKE, start, startUpstream, type Running } from '../processes.js';

/**
 * Issue 15's scale figures: how throughput, p99, edge CPU per request and Redis work per request change
 * from 1 to 3 edge processes (one port, `--port-group`) and from 1 to 3 Redis Cluster masters, per route
 * kind — a plain proxy route (no throttle, key or authorizer); the full pipeline (API key, stage and
 * route throttle + the plan's throttle and quota, a cached Lambda TOKEN authorizer, metering); an async function; WebSocket connects and @connections POSTs — then a
 * projection to 100 edge processes: Redis operations per second per 10,000 requests/s.
 *
 * Redis work is read from the private masters themselves (`INFO stats` total_commands_processed,
 * `INFO commandstats`, `INFO cpu`) before a measurement and once Redis is quiet again after it (so the
 * worker's share of an async invocation and the edges' metering flush are counted), minus what the idle
 * deployment does in the same time (heartbeats, blocking reads, polls): that background is reported
 * apart, per process. Edge CPU is the sum over the edge processes (/proc), as is the worker's.
 *
 * BENCH_SECONDS / BENCH_WARMUP_SECONDS as everywhere; BENCH_SCALE_WS (default 200) WebSocket connections;
 * BENCH_SCALE_TOPOLOGIES (default 1x1,3x1,1x3,3x3) edges×masters.
 */
/** BENCH_SCALE_TOPOLOGIES: edges×masters pairs, default "1x1,3x1,1x3,3x3". */
const TOPOLOGIES = (process.env.BENCH_SCALE_TOPOLOGIES ?? '1x1,3x1,1x3,3x3').split(',').map((t) => {
  const [edges, masters] = t.split('x').map(Number);
  return { edges: edges!, masters: masters! };
});
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const WS_CONNECTIONS = Number(process.env.BENCH_SCALE_WS ?? 200);
const CONNECTIONS = 32;
const IDLE_SECONDS = 3;
const PREFIX = 'scale';

interface RedisSnapshot {
  commands: number;
  cpuMs: number;
  byCommand: Map<string, number>;
}

interface Snapshot {
  at: number;
  edgeCpuMs: number;
  workerCpuMs: number;
  redis: RedisSnapshot;
}

/** One route kind on one topology. */
interface KindFigures {
  kind: string;
  requests: number;
  requestsPerSec: number;
  p99Ms: number;
  errors: number;
  edgeCpuUsPerRequest: number;
  workerCpuUsPerRequest: number;
  redisOpsPerRequest: number;
  redisCpuUsPerRequest: number;
  topCommands: Record<string, number>;
}

export async function run(): Promise<void> {
  const [loadBefore = 0] = loadavg();
  const all: { topology: string; idle: Record<string, number>; kinds: KindFigures[] }[] = [];
  for (const t of TOPOLOGIES) all.push(await measureTopology(t.edges, t.masters));
  const [first] = all;
  const largest = all.at(-1);
  if (first === undefined || largest === undefined) throw new Error('BENCH_SCALE_TOPOLOGIES names no topology');

  console.log('\n== scale: per route kind, by topology (edges × masters) ==');
  console.log(`${'kind'.padEnd(26)} ${'topology'.padEnd(10)} ${'req/s'.padStart(7)} ${'p99 ms'.padStart(7)} ${'edge µs/req'.padStart(11)} ${'worker µs/req'.padStart(13)} ${'redis ops/req'.padStart(13)} ${'redis µs/req'.padStart(12)}`);
  for (const kind of first.kinds.map((k) => k.kind)) {
    for (const t of all) {
      const k = t.kinds.find((x) => x.kind === kind)!;
      console.log(`${kind.padEnd(26)} ${t.topology.padEnd(10)} ${String(k.requestsPerSec).padStart(7)} ${String(k.p99Ms).padStart(7)} ${String(k.edgeCpuUsPerRequest).padStart(11)} ${String(k.workerCpuUsPerRequest).padStart(13)} ${String(k.redisOpsPerRequest).padStart(13)} ${String(k.redisCpuUsPerRequest).padStart(12)}`);
    }
  }
  // The projection uses the largest topology measured: per-request Redis work does not grow with the
  // number of edges (it is per request, or per lease/flush per process, which only shrinks per request).
  const idlePerEdge = largest.idle.redisOpsPerSecPerProcess!;
  const projection: Record<string, number> = {};
  console.log(`\n== projection to 100 edge processes (from ${largest.topology}): Redis ops/s per 10,000 requests/s ==`);
  for (const k of largest.kinds) {
    projection[k.kind] = Math.round(k.redisOpsPerRequest * 10_000);
    console.log(`${k.kind.padEnd(26)} ${String(projection[k.kind]).padStart(8)} ops/s  (+ ${Math.round(idlePerEdge * 100)} ops/s background of 100 idle edges)`);
  }
  // req/s and p99 depend on what else runs on the machine; the counts per request do not.
  const [loadAfter = 0] = loadavg();
  report('scale', [], [], { loadAverage: [round1(loadBefore), round1(loadAfter)], seconds: SECONDS, topologies: all, projection100Edges: { opsPerSecPer10kRequests: projection, backgroundOpsPerSecPer100Edges: Math.round(idlePerEdge * 100) } });
}

async function measureTopology(edges: number, masters: number): Promise<{ topology: string; idle: Record<string, number>; kinds: KindFigures[] }> {
  const topology = `${edges}e×${masters}m`;
  console.log(`\n-- ${topology}: ${edges} edge process(es) on one port, Redis Cluster of ${masters} master(s)`);
  const running: Running[] = [];
  const cluster = await startCluster(masters);
  try {
    const upstream = await startUpstream();
    running.push(upstream);
    const up = `http://127.0.0.1:${upstream.info.port as number}/item`;
    const redis = connectRedis({ url: cluster.url, name: 'bench-scale' });
    const store = new ApiKeyStore(redis, new RedisKeys(PREFIX));
    const key = await store.createKey({ name: 'bench' });
    const plan = await store.createPlan({ name: 'bench', apiStages: [{ apiId: 'shop', stage: 'prod' }], throttle: { rateLimit: 1_000_000, burstLimit: 500_000 }, quota: { limit: 1_000_000_000, period: 'DAY' } });
    await store.attachKey(plan.id, key.id);
    const creds = await new CredentialStore(redis, new RedisKeys(PREFIX)).create('bench');
    redis.disconnect();

    const dir = mkdtempSync(join(tmpdir(), 'tp-bench-scale-'));
    const file = join(dir, 'turnpike.yaml');
    writeFileSync(join(dir, 'noop.mjs'), 'export const handler = async () => {};\n');
    writeFileSync(
      file,
      `
gateway:
  redis: { url: "${cluster.url}", keyPrefix: ${PREFIX} }
functions:
  noop: { handler: ${dir}/noop.handler }
  tokenAuth: { handler: ${join(ROOT, 'loadtests/functions/tokenAuthorizer.handler')} }
authorizers:
  tok: { type: token, function: tokenAuth, resultTtlSeconds: 3600 }
apis:
  - name: plain
    basePath: /plain
    stages: { prod: {} }
    routes:
      GET /item: { integration: { type: http_proxy, uri: "${up}" } }
  - name: shop
    id: shop
    stages:
      prod: { throttle: { rateLimit: 1000000, burstLimit: 500000 } }
    routes:
      GET /full:
        apiKeyRequired: true
        authorizer: tok
        throttle: { rateLimit: 1000000, burstLimit: 500000 }
        integration: { type: http_proxy, uri: "${up}" }
  - name: fn
    basePath: /fn
    stages: { prod: {} }
    routes:
      POST /async: { integration: { type: function, function: noop, invocationType: Event } }
  - name: chat
    type: websocket
    basePath: /chat
    stages: { prod: {} }
    websocket:
      routes:
        $connect: { integration: { type: mock } }
        $default: { integration: { type: mock } }
`,
    );
    const worker = await start(process.execPath, [TURNPIKE, 'worker', '--config', file, '--concurrency', '4'], { readyEvent: 'ready', env: { LOG_LEVEL: 'warn' } });
    running.push(worker);
    const port = await freePort();
    const edgeProcs: Running[] = [];
    for (let i = 0; i < edges; i++) {
      edgeProcs.push(await start(process.execPath, [TURNPIKE, 'edge', '--config', file, '--port', String(port), '--management-port=-1', '--port-group', `scale-${process.pid}`], { env: { LOG_LEVEL: 'warn' } }));
    }
    running.push(...edgeProcs);
    const edgePids = edgeProcs.map((e) => e.proc.pid!);
    const snap = (): Snapshot => ({
      at: performance.now(),
      edgeCpuMs: sum(edgePids.map((p) => cpuMs(p) ?? 0)),
      workerCpuMs: cpuMs(worker.proc.pid!) ?? 0,
      redis: redisSnapshot(cluster.ports),
    });

    // The idle deployment's own Redis traffic, subtracted from every measurement below.
    const i0 = snap();
    await settle(IDLE_SECONDS * 1000);
    const i1 = snap();
    const idleOpsPerMs = (i1.redis.commands - i0.redis.commands) / (i1.at - i0.at);
    const idleCpuPerMs = (i1.redis.cpuMs - i0.redis.cpuMs) / (i1.at - i0.at);
    const idleEdgeCpuPerMs = (i1.edgeCpuMs - i0.edgeCpuMs) / (i1.at - i0.at);
    const idleWorkerCpuPerMs = (i1.workerCpuMs - i0.workerCpuMs) / (i1.at - i0.at);
    const idle = {
      redisOpsPerSec: Math.round(idleOpsPerMs * 1000),
      // Per process (edges and the worker): heartbeats, registry refreshes, blocking reads, polls.
      redisOpsPerSecPerProcess: round1((idleOpsPerMs * 1000) / (edges + 1)),
      edgeCpuMsPerSec: round1(idleEdgeCpuPerMs * 1000),
    };
    console.log('idle', idle);

    /** Snapshot once Redis is back to its idle rate (the worker drained its queue, metering flushed), at most 20 s. */
    const quiet = async (): Promise<Snapshot> => {
      let prev = snap();
      for (let i = 0; i < 100; i++) {
        await settle(200);
        const s = snap();
        if ((s.redis.commands - prev.redis.commands) / (s.at - prev.at) <= idleOpsPerMs * 1.5 + 0.05) return s;
        prev = s;
      }
      return prev;
    };
    const figures = (kind: string, r: { requests: number; requestsPerSec: number; p99Ms: number; errors: number }, a: Snapshot, b: Snapshot): KindFigures => {
      const ms = b.at - a.at;
      const ops = b.redis.commands - a.redis.commands - idleOpsPerMs * ms;
      const redisCpu = b.redis.cpuMs - a.redis.cpuMs - idleCpuPerMs * ms;
      const top = [...b.redis.byCommand].map(([c, n]) => [c, n - (a.redis.byCommand.get(c) ?? 0)] as const).filter(([, n]) => n > 0).sort((x, y) => y[1] - x[1]).slice(0, 6);
      const n = Math.max(1, r.requests);
      const f: KindFigures = {
        kind,
        ...r,
        edgeCpuUsPerRequest: round1(Math.max(0, ((b.edgeCpuMs - a.edgeCpuMs - idleEdgeCpuPerMs * ms) * 1000) / n)),
        workerCpuUsPerRequest: round1(Math.max(0, ((b.workerCpuMs - a.workerCpuMs - idleWorkerCpuPerMs * ms) * 1000) / n)),
        redisOpsPerRequest: Math.max(0, Math.round((ops / n) * 1000) / 1000),
        redisCpuUsPerRequest: round1(Math.max(0, (redisCpu * 1000) / n)),
        topCommands: Object.fromEntries(top),
      };
      console.log(kind, JSON.stringify(f));
      return f;
    };

    const base = `http://127.0.0.1:${port}`;
    const http: Target[] = [
      { name: 'plain proxy', url: `${base}/plain/prod/item`, connections: CONNECTIONS },
      { name: 'full pipeline', url: `${base}/prod/full`, headers: { 'x-api-key': key.value, authorization: 'Bearer bench' }, connections: CONNECTIONS },
      { name: 'async function', url: `${base}/fn/prod/async`, method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' }, connections: CONNECTIONS },
    ];
    const kinds: KindFigures[] = [];
    for (const t of http) {
      if (WARMUP > 0) await measure(t, { durationSec: WARMUP, warmupSec: 0 });
      const a = await quiet();
      const r: Result = await measure(t, { durationSec: SECONDS, warmupSec: 0 });
      const b = await quiet();
      kinds.push(figures(t.name, { requests: r.total, requestsPerSec: r.requestsPerSec, p99Ms: r.p99Ms, errors: r.errors + r.non2xx }, a, b));
    }

    // WebSocket connects, then @connections POSTs to them through the shared port (with several edges,
    // most land on an edge that does not hold the connection: registry lookup and the owner's inbox).
    const a = await quiet();
    const t0 = performance.now();
    const opened = await openWebSockets(`ws://127.0.0.1:${port}/chat/prod`, WS_CONNECTIONS, 20);
    const connectMs = performance.now() - t0;
    const b = await quiet();
    kinds.push(figures('WebSocket connect', { requests: opened.sockets.length, requestsPerSec: Math.round(opened.sockets.length / (connectMs / 1000)), p99Ms: opened.p99Ms, errors: opened.failed }, a, b));
    const ids = await connectionIds(cluster.url);
    const c0 = await quiet();
    const posted = await postToConnections(port, ids, creds, SECONDS, 16);
    const c1 = await quiet();
    kinds.push(figures('@connections POST', posted, c0, c1));
    for (const s of opened.sockets) s.close();
    return { topology, idle, kinds };
  } finally {
    await Promise.all(running.map((p) => p.stop()));
    await cluster.destroy();
  }
}

/** A private Redis Cluster of `masters` masters (any number, 1 included: redis-cli --cluster needs 3). */
async function startCluster(masters: number): Promise<{ url: string; ports: number[]; destroy: () => Promise<void> }> {
  const conf = `scale-${process.pid}-${Date.now()}`;
  const nodes: RedisServer[] = [];
  for (let i = 0; i < masters; i++) nodes.push(await startClusterNode(`nodes-${conf}-${i}.conf`, ['--cluster-node-timeout', '2000', '--cluster-announce-ip', '127.0.0.1']));
  const cli = (port: number, ...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).trim();
  const per = Math.ceil(16384 / masters);
  nodes.forEach((n, i) => cli(n.port, 'CLUSTER', 'ADDSLOTSRANGE', String(i * per), String(Math.min(16383, (i + 1) * per - 1))));
  const [seed, ...others] = nodes;
  if (seed !== undefined) for (const n of others) cli(n.port, 'CLUSTER', 'MEET', '127.0.0.1', String(seed.port));
  const deadline = Date.now() + 30_000;
  while (!nodes.every((n) => cli(n.port, 'CLUSTER', 'INFO').includes('cluster_state:ok') && cli(n.port, 'CLUSTER', 'NODES').split('\n').length === masters)) {
    if (Date.now() > deadline) throw new Error('the benchmark cluster did not agree on its slots within 30 s');
    await settle(100);
  }
  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    ports: nodes.map((n) => n.port),
    destroy: async () => void (await Promise.all(nodes.map((n) => n.destroy()))),
  };
}

/** Commands processed, CPU used and calls per command, summed over the masters. */
function redisSnapshot(ports: number[]): RedisSnapshot {
  const out: RedisSnapshot = { commands: 0, cpuMs: 0, byCommand: new Map() };
  for (const port of ports) {
    const info = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'everything'], { encoding: 'utf8' });
    // Less the INFO calls of these snapshots themselves.
    out.commands += Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0) - Number(/^cmdstat_info:calls=(\d+)/m.exec(info)?.[1] ?? 0);
    out.cpuMs += 1000 * (Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0));
    for (const [, command = '', calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.byCommand.set(command, (out.byCommand.get(command) ?? 0) + Number(calls));
  }
  return out;
}

/** Opens `n` WebSockets, `concurrency` handshakes at a time; p99 of the handshake times. */
async function openWebSockets(url: string, n: number, concurrency: number): Promise<{ sockets: WebSocket[]; failed: number; p99Ms: number }> {
  const sockets: WebSocket[] = [];
  const times: number[] = [];
  let failed = 0;
  let next = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const ws = new WebSocket(url);
      ws.onopen = () => {
        times.push(performance.now() - t0);
        sockets.push(ws);
        resolve();
      };
      ws.onerror = () => {
        failed++;
        resolve();
      };
    });
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < n) await one();
  }));
  return { sockets, failed, p99Ms: percentile(times, 0.99) };
}

async function connectionIds(url: string): Promise<string[]> {
  const redis = connectRedis({ url, name: 'bench-scale-ids' });
  try {
    // A Cluster client knows its masters only once it has the slots.
    await whenConnected(redis, 10_000);
    const keys = await scanKeys(redis, `${PREFIX}:wsconn:*`);
    return keys.map((k) => k.slice(k.indexOf('{') + 1, k.indexOf('}')));
  } finally {
    redis.disconnect();
  }
}

/** `loops` concurrent loops of signed @connections POSTs to random ids, for `seconds`. */
async function postToConnections(port: number, ids: string[], creds: { accessKeyId: string; secretAccessKey: string }, seconds: number, loops: number): Promise<{ requests: number; requestsPerSec: number; p99Ms: number; errors: number }> {
  const times: number[] = [];
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: loops }, async () => {
    while (performance.now() < until) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      if (id === undefined) throw new Error('no WebSocket connection ids to post to');
      const path = `/chat/prod/@connections/${encodeURIComponent(id)}`;
      const headers = signSigV4({ method: 'POST', host: `127.0.0.1:${port}`, rawPath: path, body: 'hello' }, creds, 'us-east-1');
      const s = performance.now();
      const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers, body: 'hello' });
      const text = await r.text();
      times.push(performance.now() - s);
      if (r.status !== 200 && errors++ === 0) console.log(`first @connections refusal: ${r.status} ${text.slice(0, 200)}`);
    }
  }));
  return { requests: times.length, requestsPerSec: Math.round(times.length / ((performance.now() - t0) / 1000)), p99Ms: percentile(times, 0.99), errors };
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0) * 10) / 10;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const round1 = (x: number) => Math.round(x * 10) / 10;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
