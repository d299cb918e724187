import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore, signSigV4 } from '@turnpike/edge';
import { RedisKeys, connectRedis } from '@turnpike/redis';
import { deletePrefix, freePort } from '@turnpike/testing';
import { measureAll, report, DEFAULTS, type Result, type Target } from '../harness.js';
import { ROOT, TURNPIKE, start, type Running } from '../processes.js';
import { startClient, type ClientProcess } from '../websocket/clientProcess.js';

/**
 * Issue 6's benchmark, in three parts:
 *
 * 1. memory: one edge process holds BENCH_WS_PER_NODE (18,000) idle connections; server RSS growth per
 *    connection, and the time to open them all;
 * 2. scale: BENCH_WS_NODES (6) edge processes share one port (SO_REUSEPORT) and hold BENCH_WS_TOTAL
 *    (100,000) connections together: one process cannot here, the open-files limit is 20,000 per process;
 * 3. delivery across two nodes: messages/s through @connections (posted to node A for connections on
 *    node B) and through a topic (published on A, subscribers on A and B), counted at the clients.
 *
 * Clients are separate processes (websocket/clientProcess.ts: C, or Node with BENCH_WSS_CLIENT=node),
 * each with its own 16 source addresses 127.<n>.0.x, so 100,000 connections to one port neither run out of
 * ephemeral ports nor slow down in the kernel's port search.
 */
const PER_NODE = Number(process.env.BENCH_WS_PER_NODE ?? 18_000);
const TOTAL = Number(process.env.BENCH_WS_TOTAL ?? 100_000);
const NODES = Number(process.env.BENCH_WS_NODES ?? 6);
export const PER_CLIENT = 16_000;
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const MESSAGE = 'x'.repeat(64);

/** gateway.websocket.pingIntervalSeconds of the bench edges (BENCH_WSS_PING_SECONDS): what idle connections cost in pings. */
const PING_SECONDS = Number(process.env.BENCH_WSS_PING_SECONDS ?? 120);

export const CONFIG = `
gateway:
  websocket: { maxBufferedBytes: 4194304, slowConsumerPolicy: drop, pingIntervalSeconds: ${PING_SECONDS} }
apis:
  - name: idle
    type: websocket
    basePath: /idle
    stages: { prod: {} }
    websocket:
      routes:
        $default: { integration: { type: mock } }
  - name: bench
    type: websocket
    stages: { prod: {} }
    websocket:
      # A million connections take longer to open than API Gateway's 10-minute idle timeout: the first
      # ones would be closed (1001, correctly) before the publish that checks they are still reachable.
      idleTimeoutMs: 7200000
      routes:
        $connect: { integration: { type: mock }, topics: [bench] }
        $default: { integration: { type: mock } }
`;

interface Connected {
  ok: number;
  failed: number;
  ms: number;
  firstError: string | null;
}

/** Opens `total` connections from client processes of at most PER_CLIENT each, each with its own source addresses. */
export async function openConnections(clients: ClientProcess[], port: number, path: string, total: number, firstAddress: number): Promise<Connected> {
  const started = performance.now();
  const per = Math.ceil(total / clients.length);
  const results = await Promise.all(
    clients.map((c, i) =>
      c.request<Connected>({ type: 'connect', host: '127.0.0.1', port, path, count: Math.min(per, total - i * per), addresses: sourceAddresses(firstAddress + i), concurrency: 100 }, 'connected'),
    ),
  );
  return {
    ok: results.reduce((n, r) => n + r.ok, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    ms: performance.now() - started,
    firstError: results.find((r) => r.firstError)?.firstError ?? null,
  };
}

/** 16 loopback source addresses for client process `n`: 127.<n>.0.1 to 127.<n>.0.16, ~1,000 connections each. */
export function sourceAddresses(n: number): string[] {
  return Array.from({ length: 16 }, (_, i) => `127.${n}.0.${i + 1}`);
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export interface HeapAfterGc {
  heapUsed: number;
  external: number;
  rss: number;
}

/** An edge's memory right after a full GC (loadtests/servers/heapProbe.mjs, asked with SIGUSR2). */
export function heapAfterGc(node: Running): Promise<HeapAfterGc> {
  const stdout = node.proc.stdout!;
  return new Promise((resolve) => {
    let buffered = '';
    const onData = (d: Buffer) => {
      buffered += d.toString();
      const line = buffered.split('\n').find((l) => l.startsWith('{"event":"heap"'));
      if (!line) return;
      stdout.off('data', onData);
      resolve(JSON.parse(line) as HeapAfterGc);
    };
    stdout.on('data', onData);
    node.proc.kill('SIGUSR2');
  });
}

/** Sum of heapAfterGc over `nodes`, one after the other (a GC takes a core). */
export async function heapsAfterGc(nodes: readonly Running[]): Promise<HeapAfterGc> {
  const sum: HeapAfterGc = { heapUsed: 0, external: 0, rss: 0 };
  for (const n of nodes) {
    const h = await heapAfterGc(n);
    sum.heapUsed += h.heapUsed;
    sum.external += h.external;
    sum.rss += h.rss;
  }
  return sum;
}

export const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

const HEAP_PROBE = join(ROOT, 'loadtests/servers/heapProbe.mjs');

/**
 * Node flags and C library settings of the edges these suites start: BENCH_EDGE_NODE_FLAGS
 * (space-separated) and BENCH_EDGE_MALLOC_ARENA_MAX (glibc's MALLOC_ARENA_MAX). Unset, the edges run
 * with what docs/deployment.md recommends for connection-heavy nodes (young generation capped at 2 × 4 MB,
 * one malloc arena: 130-140 MB of RSS per edge with 18,000 idle connections against 162-166 MB,
 * loadtests/README.md); set empty, with Node's and glibc's defaults, to compare.
 */
const EDGE_NODE_FLAGS = (process.env.BENCH_EDGE_NODE_FLAGS ?? '--max-semi-space-size=4').split(' ').filter(Boolean);
const EDGE_MALLOC_ARENA_MAX = process.env.BENCH_EDGE_MALLOC_ARENA_MAX ?? '1';

export function startNode(file: string, port: number, prefix: string): Promise<Running> {
  const env: Record<string, string> = { LOG_LEVEL: 'warn', ...(EDGE_MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: EDGE_MALLOC_ARENA_MAX } : {}) };
  return start(process.execPath, ['--expose-gc', '--import', HEAP_PROBE, ...EDGE_NODE_FLAGS, TURNPIKE, 'edge', '--config', file, '--port', String(port), '--management-port=-1', '--redis', REDIS_URL, '--key-prefix', prefix, '--port-group', prefix], { env });
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-ws-'));
  const file = join(dir, 'turnpike.yaml');
  writeFileSync(file, CONFIG);
  const prefix = `bench-ws-${process.pid}`;
  const running: Running[] = [];
  const clients: ClientProcess[] = [];
  const extra: Record<string, unknown> = {};
  const stopAll = async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(running.splice(0).map((r) => r.stop()));
  };
  try {
    // ---- 1. memory per connection on one process ----
    const port1 = await freePort();
    const one = await startNode(file, port1, prefix);
    running.push(one);
    const pid = one.info.pid as number;
    for (let i = 0; i < Math.ceil(PER_NODE / PER_CLIENT); i++) clients.push(await startClient());
    await settle(1_000);
    const rssBefore = rssBytes(pid);
    const heapBefore = await heapAfterGc(one);
    const c1 = await openConnections(clients, port1, '/idle/prod', PER_NODE, 10);
    await settle(2_000);
    const rssAfter = rssBytes(pid);
    const heapAfter = await heapAfterGc(one);
    extra.memory = {
      connections: c1.ok,
      failed: c1.failed,
      firstError: c1.firstError,
      connectSeconds: +(c1.ms / 1000).toFixed(2),
      connectsPerSecond: Math.round(c1.ok / (c1.ms / 1000)),
      rssBeforeMB: +(rssBefore / 2 ** 20).toFixed(1),
      rssAfterMB: +(rssAfter / 2 ** 20).toFixed(1),
      rssBytesPerConnection: Math.round((rssAfter - rssBefore) / Math.max(1, c1.ok)),
      ...perConnectionAfterGc(heapBefore, heapAfter, c1.ok),
    };
    console.log('memory', extra.memory);
    await stopAll();

    // ---- 2. TOTAL connections over NODES processes sharing one port ----
    const port2 = await freePort();
    for (let i = 0; i < NODES; i++) running.push(await startNode(file, port2, prefix));
    for (let i = 0; i < Math.ceil(TOTAL / PER_CLIENT); i++) clients.push(await startClient());
    const rss2Before = running.reduce((n, r) => n + rssBytes(r.info.pid as number), 0);
    const c2 = await openConnections(clients, port2, '/idle/prod', TOTAL, 20);
    await settle(2_000);
    const perNode = running.map((r) => rssBytes(r.info.pid as number));
    extra.scale = {
      nodes: NODES,
      connections: c2.ok,
      failed: c2.failed,
      firstError: c2.firstError,
      connectSeconds: +(c2.ms / 1000).toFixed(2),
      connectsPerSecond: Math.round(c2.ok / (c2.ms / 1000)),
      rssTotalMB: +(perNode.reduce((a, b) => a + b, 0) / 2 ** 20).toFixed(1),
      rssBytesPerConnection: Math.round((perNode.reduce((a, b) => a + b, 0) - rss2Before) / Math.max(1, c2.ok)),
    };
    console.log('scale', extra.scale);
    await stopAll();

    // ---- 3. delivery across two nodes ----
    const [portA, portB] = [await freePort(), await freePort()];
    const a = await startNode(file, portA, prefix);
    const b = await startNode(file, portB, prefix);
    running.push(a, b);
    const redis = connectRedis({ url: REDIS_URL, name: 'bench-ws' });
    const creds = await new CredentialStore(redis, new RedisKeys(prefix)).create('bench');
    redis.disconnect();
    const receiverA = await startClient();
    const receiverB = await startClient();
    clients.push(receiverA, receiverB);
    // Subscribers of topic "bench" (the $connect route subscribes every connection): 50 on each node,
    // node B's first, so the registry then holds only B's ids: the @connections target is one of them.
    await receiverB.request({ type: 'connect', host: '127.0.0.1', port: portB, path: '/prod', count: 50, addresses: sourceAddresses(41), concurrency: 10 }, 'connected');
    const [idOnB] = await registeredIds(prefix);
    if (idOnB === undefined) throw new Error('node B registered none of its 50 connections');
    await receiverA.request({ type: 'connect', host: '127.0.0.1', port: portA, path: '/prod', count: 50, addresses: sourceAddresses(40), concurrency: 10 }, 'connected');
    const presign = (port: number, path: string) => signSigV4({ method: 'POST', host: `127.0.0.1:${port}`, rawPath: path, body: MESSAGE }, creds, 'us-east-1');
    const bytesOf = async (c: ClientProcess) => (await c.request<{ bytes: number }>({ type: 'stats' }, 'stats')).bytes;
    const connectionsPath = `/prod/@connections/${encodeURIComponent(idOnB)}`;
    const targets: Target[] = [
      { name: '@connections POST, A → conn on B', url: `http://127.0.0.1:${portA}${connectionsPath}`, method: 'POST', headers: presign(portA, connectionsPath), body: MESSAGE, connections: 32 },
      { name: 'topic publish on A (100 subscribers)', url: `http://127.0.0.1:${portA}/prod/@topics/bench`, method: 'POST', headers: presign(portA, '/prod/@topics/bench'), body: MESSAGE, connections: 8 },
    ];
    const delivered: Record<string, number> = {};
    const results: Result[] = [];
    for (const t of targets) {
      const before = (await bytesOf(receiverA)) + (await bytesOf(receiverB));
      const [r] = await measureAll([t], 1, { ...DEFAULTS, warmupSec: 0 });
      await settle(500);
      const after = (await bytesOf(receiverA)) + (await bytesOf(receiverB));
      // The clients count payload bytes of data frames: MESSAGE.length per message.
      delivered[t.name] = Math.round((after - before) / MESSAGE.length / DEFAULTS.durationSec);
      if (r !== undefined) results.push(r);
    }
    extra.deliveredMessagesPerSecond = delivered;
    report('websocket', results, [], extra);
    await stopAll();
  } finally {
    await stopAll();
    await deletePrefix(REDIS_URL, prefix);
  }
}

/** Per connection, from memory after a full GC: JS heap, memory outside the heap (Buffers), and RSS. */
export function perConnectionAfterGc(before: HeapAfterGc, after: HeapAfterGc, connections: number): Record<string, number> {
  const per = (a: number, b: number) => Math.round((b - a) / Math.max(1, connections));
  return {
    heapBytesPerConnection: per(before.heapUsed, after.heapUsed),
    externalBytesPerConnection: per(before.external, after.external),
    rssAfterGcBytesPerConnection: per(before.rss, after.rss),
  };
}

/** Ids of the connections in the registry under `prefix`. */
export async function registeredIds(prefix: string, limit = Infinity): Promise<string[]> {
  const redis = connectRedis({ url: REDIS_URL, name: 'bench-ws' });
  try {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:wsconn:*`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) out.push(k.slice(k.indexOf('{') + 1, k.lastIndexOf('}')));
    } while (cursor !== '0' && out.length < limit);
    return out;
  } finally {
    redis.disconnect();
  }
}
