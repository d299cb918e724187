import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore, signSigV4 } from '@turnpike/edge';
import { RedisKeys, connectRedis, type RedisClient } from '@turnpike/redis';
import { deletePrefix, freePort } from '@turnpike/testing';
import { cpuMs, report } from '../harness.js';
import type { Running } from '../processes.js';
import {
  CONFIG,
  MESSAGE,
  PER_CLIENT,
  REDIS_URL,
  heapsAfterGc,
  openConnections,
  perConnectionAfterGc,
  registeredIds,
  rssBytes,
  settle,
  startNode,
} from './websocket.js';
import { CLIENT_KIND, startClient, type ClientProcess } from '../websocket/clientProcess.js';

/**
 * Issue 19's idle-WebSocket scale run: BENCH_WSS_TOTAL connections (20,000 here; one million with
 * loadtests/million-websockets.sh) over BENCH_WSS_NODES edge processes sharing one port
 * (`--port-group`, SO_REUSEPORT), from client processes of at most 16,000 connections each with their
 * own 16 source addresses 127.<n>.0.x (C, or Node with BENCH_WSS_CLIENT=node). Every connection goes
 * through a `$connect` route that subscribes it to topic "bench". Then, with all of them open, it
 * checks they are still reachable:
 * - one topic publish on one node: every connection on every node receives it (counted at the clients);
 * - @connections POSTs to a sample of BENCH_WSS_SAMPLE registered ids, sent to the shared port (so most
 *   land on a node that does not hold the connection and go through the registry and node inboxes).
 */
const TOTAL = Number(process.env.BENCH_WSS_TOTAL ?? 20_000);
const NODES = Number(process.env.BENCH_WSS_NODES ?? Math.max(2, Math.ceil(TOTAL / 18_000)));
const SAMPLE = Number(process.env.BENCH_WSS_SAMPLE ?? 100);
const SAMPLE_CONCURRENCY = 16;
/**
 * BENCH_WSS_RSS_SERIES=N: the edges' RSS, with no forced GC, once a second for N seconds before the
 * connections and again after they are registered, and the per-connection figure from the last sample of
 * each: what the edges settle at by themselves (V8's memory reducer), against the heap probe's forced one.
 */
const RSS_SERIES_SECONDS = Number(process.env.BENCH_WSS_RSS_SERIES ?? 0);
/** Seconds every connection is held with nothing sent, to measure what idle connections cost in CPU. */
const IDLE_SECONDS = Number(process.env.BENCH_WSS_IDLE_SECONDS ?? 10);
const POST_TIMEOUT_MS = 30_000;
/** Client process n uses 127.<FIRST_ADDRESS + n>.0.1–16: up to 235 client processes (3.7 M connections). */
const FIRST_ADDRESS = 20;

export async function run(): Promise<void> {
  if (Math.ceil(TOTAL / PER_CLIENT) > 255 - FIRST_ADDRESS) throw new Error(`BENCH_WSS_TOTAL=${TOTAL} needs more than ${255 - FIRST_ADDRESS} client processes`);
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-wss-'));
  const file = join(dir, 'turnpike.yaml');
  writeFileSync(file, CONFIG);
  const prefix = process.env.BENCH_WSS_PREFIX ?? `bench-wss-${process.pid}`;
  const running: Running[] = [];
  const clients: ClientProcess[] = [];
  try {
    const port = await freePort();
    // Clients first: without a C compiler the run stops before it starts dozens of edges.
    for (let i = 0; i < Math.ceil(TOTAL / PER_CLIENT); i++) clients.push(await startClient());
    for (let i = 0; i < NODES; i++) running.push(await startNode(file, port, prefix));
    await settle(1_000);
    // In two halves: the first half's RSS growth includes what any connect storm costs once (V8's young
    // generation and malloc's arenas become resident), the second half's is what one more idle
    // connection costs. Memory is read after a full, last-resort GC on every node (heapProbe.mjs: what V8 settles at by itself).
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const rss = () => sum(running.map((r) => rssBytes(r.info.pid as number)));
    const clientRss = () => sum(clients.map((cl) => rssBytes(cl.pid)));
    const half = Math.floor(TOTAL / 2);
    const idleSeries = await rssSeries(rss);
    const rssBefore = rss();
    const clientRssBefore = clientRss();
    const heapBefore = await heapsAfterGc(running);
    // Each node registers its connections in Redis (a hash and a set entry each) behind the handshakes;
    // the writes still queued are heap too, so memory is read once the registry holds every connection.
    // Until then, @connections and publishes would also queue behind that backlog on the node's Redis
    // connection and could pass gateway.redis.timeoutMs (503).
    const c1 = await openConnections(clients, port, '/prod', half, FIRST_ADDRESS);
    await untilRegistered(prefix, c1.ok);
    await settle(1_000);
    const heapHalf = await heapsAfterGc(running);
    const c2 = await openConnections(clients, port, '/prod', TOTAL - half, FIRST_ADDRESS);
    const registered = await untilRegistered(prefix, c1.ok + c2.ok);
    console.log('registered', registered);
    const connectedSeries = await rssSeries(rss);
    await settle(1_000);
    const rssAfter = rss();
    const clientRssAfter = clientRss();
    const heapAfter = await heapsAfterGc(running);
    const c = { ok: c1.ok + c2.ok, failed: c1.failed + c2.failed, firstError: c1.firstError ?? c2.firstError, ms: c1.ms + c2.ms };
    const scale = {
      nodes: NODES,
      clientProcesses: clients.length,
      connections: c.ok,
      failed: c.failed,
      firstError: c.firstError,
      connectSeconds: +(c.ms / 1000).toFixed(2),
      connectsPerSecond: Math.round(c.ok / (c.ms / 1000)),
      edgeRssBeforeMB: mb(rssBefore),
      idleEdgeRssMB: mb(rssBefore / NODES),
      idleEdgeRssAfterGcMB: mb(heapBefore.rss / NODES),
      edgeRssAfterMB: mb(rssAfter),
      edgeRssBytesPerConnection: Math.round((rssAfter - rssBefore) / Math.max(1, c.ok)),
      edgeHeapAfterGcMB: mb(heapAfter.heapUsed),
      allConnections: perConnectionAfterGc(heapBefore, heapAfter, c.ok),
      secondHalf: perConnectionAfterGc(heapHalf, heapAfter, c2.ok),
      ...(RSS_SERIES_SECONDS > 0
        ? {
            unforcedRssMB: { idle: idleSeries, connected: connectedSeries },
            unforcedSettledRssBytesPerConnection: Math.round((connectedSeries.at(-1)! - idleSeries.at(-1)!) * 2 ** 20 / Math.max(1, c.ok)),
          }
        : {}),
      clientKind: CLIENT_KIND,
      clientRssBeforeMB: mb(clientRssBefore),
      clientRssAfterMB: mb(clientRssAfter),
      clientRssBytesPerConnection: Math.round((clientRssAfter - clientRssBefore) / Math.max(1, c.ok)),
    };
    console.log('scale', scale);
    const idle = await idleCost(running, clients, scale.connections);
    console.log('idle', idle);

    const redis = connectRedis({ url: REDIS_URL, name: 'bench-wss' });
    const creds = await new CredentialStore(redis, new RedisKeys(prefix)).create('bench');
    redis.disconnect();
    const refusals: Record<string, number> = {};
    const refuse = (key: string) => (refusals[key] = (refusals[key] ?? 0) + 1);
    /** The status, or 0 when no answer came within POST_TIMEOUT_MS (counted among the refusals, and the run goes on). */
    const post = async (path: string): Promise<number> => {
      const headers = signSigV4({ method: 'POST', host: `127.0.0.1:${port}`, rawPath: path, body: MESSAGE }, creds, 'us-east-1');
      try {
        const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers, body: MESSAGE, signal: AbortSignal.timeout(POST_TIMEOUT_MS) });
        const text = await r.text();
        if (r.status >= 300) refuse(`${r.status} ${text.slice(0, 120)}`);
        return r.status;
      } catch (err) {
        refuse(`no answer: ${(err as Error).name} ${(err as Error).message}`.slice(0, 160));
        return 0;
      }
    };
    const received = async () => sum(await Promise.all(clients.map(async (cl) => (await cl.request<{ bytes: number }>({ type: 'stats' }, 'stats')).bytes)));
    /**
     * Messages received by all clients since `from` bytes (payload bytes of data frames), once `expected`
     * arrived or the wait passed: 20 s, plus 1 s per 20,000 connections (a publish to a million takes
     * 56 edges' sends and 63 clients' reads on 2 cores). A topic frame still in flight when the sample
     * below is posted would be counted as one of the sample's.
     */
    const waitMs = 20_000 + Math.ceil(TOTAL / 20_000) * 1_000;
    const framesSince = async (from: number, expected: number): Promise<{ frames: number; ms: number }> => {
      const t0 = performance.now();
      let frames = 0;
      while (performance.now() - t0 < waitMs) {
        frames = Math.floor(((await received()) - from) / MESSAGE.length);
        if (frames >= expected) break;
        await settle(100);
      }
      return { frames, ms: Math.round(performance.now() - t0) };
    };

    const rssBeforeReach = rss();
    let base = await received();
    const publishStatus = await post('/prod/@topics/bench');
    const topic = await framesSince(base, c.ok);
    const rssAfterTopic = rss();
    const ids = (await registeredIds(prefix, SAMPLE)).slice(0, SAMPLE);
    base = await received();
    // At most SAMPLE_CONCURRENCY POSTs in flight, as a backend posting to its clients would: this checks
    // reach across nodes, not how a burst of a thousand signed requests queues on 2 loaded cores.
    const statuses: number[] = [];
    let nextId = 0;
    await Promise.all(
      Array.from({ length: Math.min(SAMPLE_CONCURRENCY, ids.length) }, async () => {
        for (let id = ids[nextId++]; id !== undefined; id = ids[nextId++]) statuses.push(await post(`/prod/@connections/${encodeURIComponent(id)}`));
      }),
    );
    const direct = await framesSince(base, ids.length);
    const reach = {
      edgeRssMB: { beforeReach: mb(rssBeforeReach), afterTopic: mb(rssAfterTopic), afterSample: mb(rss()) },
      topicPublish: { status: publishStatus, subscribers: c.ok, delivered: topic.frames, ms: topic.ms },
      connectionsSample: { posted: ids.length, accepted: statuses.filter((s) => s === 200).length, delivered: direct.frames, ms: direct.ms, refusals },
    };
    console.log('reach', reach);
    const warnings = edgeWarnings(running);
    console.log('edge warnings', warnings);
    report('wsscale', [], [], { scale, registered, idle, reach, edgeWarnings: warnings });
  } finally {
    await Promise.all(clients.splice(0).map((cl) => cl.close()));
    await Promise.all(running.splice(0).map((r) => r.stop()));
    await deletePrefix(REDIS_URL, prefix);
  }
}

/**
 * The edges' warnings over the run, counted by message: a node taken for dead while alive (its
 * registry heartbeat stalled past nodeTimeoutMs), failed heartbeats or registry writes, slow consumers.
 */
function edgeWarnings(edges: readonly Running[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of edges) {
    for (const line of (e.output?.() ?? '').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const { msg, level, err } = JSON.parse(line) as { msg?: string; level?: number; err?: { message?: string } };
        if (!msg || level === undefined || level < 40) continue;
        const key = err?.message ? `${msg} (${err.message.slice(0, 80)})` : msg;
        counts[key] = (counts[key] ?? 0) + 1;
      } catch {
        /* not a log line */
      }
    }
  }
  return counts;
}

/**
 * CPU used while every connection is open and nothing is sent, over IDLE_SECONDS: the edges' (summed and
 * per edge, as % of one core, and per connection) and the clients'. Timers that visit every connection
 * (idle-timeout sweeps, pings) would grow with the count; timers per process (heartbeats, the event-loop
 * delay monitor) with the number of edges.
 */
async function idleCost(edges: readonly Running[], clients: readonly ClientProcess[], connections: number) {
  const sum = (xs: (number | null)[]) => xs.reduce<number>((a, b) => a + (b ?? 0), 0);
  const edgeCpu = () => sum(edges.map((r) => cpuMs(r.info.pid as number)));
  const clientCpu = () => sum(clients.map((cl) => cpuMs(cl.pid)));
  const [e0, c0, t0] = [edgeCpu(), clientCpu(), performance.now()];
  await settle(IDLE_SECONDS * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const [e1, c1] = [edgeCpu(), clientCpu()];
  return {
    seconds: +seconds.toFixed(1),
    edgeCpuPctOfOneCore: +((100 * (e1 - e0)) / 1000 / seconds).toFixed(1),
    perEdgeCpuPctOfOneCore: +((100 * (e1 - e0)) / 1000 / seconds / Math.max(1, edges.length)).toFixed(2),
    edgeCpuUsPerConnectionPerSecond: +(((e1 - e0) * 1000) / seconds / Math.max(1, connections)).toFixed(3),
    clientCpuPctOfOneCore: +((100 * (c1 - c0)) / 1000 / seconds).toFixed(1),
    loadAverage1m: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
  };
}

/** The edges' summed RSS in MB once a second for RSS_SERIES_SECONDS (none when it is 0). */
async function rssSeries(rss: () => number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < RSS_SERIES_SECONDS; i++) {
    out.push(mb(rss()));
    await settle(1000);
  }
  if (RSS_SERIES_SECONDS > 0) out.push(mb(rss()));
  return out;
}

/** Bytes as MB with one decimal, for the report. */
function mb(bytes: number): number {
  return +(bytes / 2 ** 20).toFixed(1);
}

/** Polls the registry until `expected` connections are in it (or 120 s pass): how long registration lagged behind the handshakes. */
async function untilRegistered(prefix: string, expected: number): Promise<{ registered: number; msAfterConnect: number }> {
  const t0 = performance.now();
  const redis = connectRedis({ url: REDIS_URL, name: 'bench-wss' });
  let n = 0;
  try {
    while (performance.now() - t0 < 120_000) {
      n = await countRegistered(redis, prefix);
      if (n >= expected) break;
      await settle(500);
    }
  } finally {
    redis.disconnect();
  }
  return { registered: n, msAfterConnect: Math.round(performance.now() - t0) };
}

/** Connections in the registry under `prefix`, counted without holding their ids (a million of them). */
async function countRegistered(redis: RedisClient, prefix: string): Promise<number> {
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:wsconn:*`, 'COUNT', 10_000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}
