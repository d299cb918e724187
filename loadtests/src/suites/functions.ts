import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { QueueFunctionInvoker } from '@turnpike/edge/internals';
import { HostPool, hostLauncher } from '@turnpike/worker/internals';
import { readdirSync } from 'node:fs';
import { measure, measureAll, medianRun, procStat, quantileOf, report, wrkBinary, type Ratio, type Result, type Target } from '../harness.js';
import { ROOT, TURNPIKE, start, startUpstream, type Running } from '../processes.js';
import { topFunctions } from '../cpuProfile.js';

/**
 * Issue 3's benchmark: invocations/s and p50/p99 through the edge to a trivial function, beside the proxy
 * route to a trivial upstream, in one run; and the naive BullMQ round trip the issue compares against
 * (Queue.add + waitUntilFinished on QueueEvents, 256 in flight, producer and worker in one process).
 * Then where the time goes: the invoker alone (no HTTP), and the host process round trip alone.
 *
 * BENCH_SECONDS (default 8) per target; BENCH_ROUNDS (default 1) rounds of the routes (median, every other
 * round reversed) and measurements of the naive baseline (first, the rest after the routes; median);
 * BENCH_WORKER_CONCURRENCY (default 4) host processes per worker;
 * BENCH_PROFILE=1 records CPU profiles of the edge and the worker and prints their top functions.
 */
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const IN_FLIGHT = 256;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);

export async function run(): Promise<void> {
  const prefix = `bench-fn-${process.pid}`;
  const started: Running[] = [];
  const cleanup = new Redis(REDIS);
  try {
    const naiveRuns = [await naiveBullmq(prefix, IN_FLIGHT)];
    const naiveSerial = await naiveBullmq(prefix, 1);
    const sandboxed = await naiveBullmq(prefix, IN_FLIGHT, true);
    const isolation = await isolationCost();

    const dir = mkdtempSync(join(tmpdir(), 'tp-bench-fn-'));
    const upstream = await startUpstream();
    started.push(upstream);
    const file = join(dir, 'turnpike.yaml');
    writeFileSync(
      file,
      `
functions:
  noop: { handler: ${join(ROOT, 'examples/functions/noop.handler')} }
apis:
  - name: bench
    routes:
      GET /fn: { integration: { type: function, function: noop } }
      GET /fn2: { integration: { type: function, function: noop, payloadFormatVersion: "2.0" } }
      GET /item: { integration: { type: http_proxy, uri: "http://127.0.0.1:${upstream.info.port}/item" } }
`,
    );
    const common = ['--config', file, '--redis', REDIS, '--key-prefix', prefix];
    const profile = process.env.BENCH_PROFILE ? { edge: mkdtempSync(join(tmpdir(), 'tp-prof-edge-')), worker: mkdtempSync(join(tmpdir(), 'tp-prof-worker-')) } : null;
    const prof = (d: string | undefined) => (d ? ['--cpu-prof', `--cpu-prof-dir=${d}`] : []);
    const worker = await start(process.execPath, [...prof(profile?.worker), TURNPIKE, 'worker', ...common, '--concurrency', process.env.BENCH_WORKER_CONCURRENCY ?? '4'], { readyEvent: 'ready', env: { LOG_LEVEL: 'warn' } });
    started.push(worker);
    const edge = await start(process.execPath, [...prof(profile?.edge), TURNPIKE, 'edge', ...common, '--port', '0', '--management-port=-1'], { env: { LOG_LEVEL: 'warn' } });
    started.push(edge);
    const base = `http://127.0.0.1:${edge.info.port}`;

    // cpu µs/req is the edge's (the worker's, its hosts' and Redis's shares are in cpuMicrosPerInvocation).
    const pid = edge.proc.pid;
    const functionRoute: Target = { name: 'function route 1.0 (256 conns)', url: `${base}/fn`, connections: IN_FLIGHT, pid };
    const targets: Target[] = [
      functionRoute,
      { name: 'function route 2.0 (256 conns)', url: `${base}/fn2`, connections: IN_FLIGHT, pid },
      { name: 'function route (1 conn)', url: `${base}/fn`, connections: 1, pid },
      { name: 'proxy route (256 conns)', url: `${base}/item`, connections: IN_FLIGHT, pid },
    ];
    const results = await measureAll(targets);
    // wrk (C) as well: autocannon's own CPU, on the same 2 cores, is a large share of a function route's.
    const wrkTargets = targets.filter((t) => t.connections === IN_FLIGHT);
    const wrkResults = wrkBinary() ? await measureAll(wrkTargets, undefined, undefined, 'wrk') : null;
    if (!wrkResults) console.log('wrk is not installed (apt-get install wrk): the wrk table is skipped');
    // With BENCH_ROUNDS > 1 the baseline is measured again after the routes too (the median is used): a
    // single measurement of it, taken first, moved the ratios more than anything the routes did.
    for (let r = 1; r < ROUNDS; r++) naiveRuns.push(await naiveBullmq(prefix, IN_FLIGHT));
    const naive = medianRun(naiveRuns)!;
    const cpu = await cpuPerInvocation(functionRoute, edge.proc.pid!, worker.proc.pid!, cleanup);
    const invoker = await invokerOnly(prefix);
    let profiles: Record<string, unknown> = { cpuMicrosPerInvocation: cpu };
    if (profile) {
      // Profiles are written on exit.
      await edge.stop();
      await worker.stop();
      profiles = { edgeCpuProfileTop: topFunctions(profile.edge), workerCpuProfileTop: topFunctions(profile.worker) };
    }
    const versusNaive: Ratio[] = [
      { label: 'function route / naive BullMQ round trip', numerator: 'function route 1.0 (256 conns)', denominator: naive.name, target: 3 },
      { label: 'function route 2.0 / naive BullMQ round trip', numerator: 'function route 2.0 (256 conns)', denominator: naive.name, target: 3 },
    ];
    report(
      'functions',
      [naive, naiveSerial, sandboxed, ...results, invoker, ...isolation],
      [
        ...versusNaive,
        { label: 'function route / proxy route', numerator: 'function route 1.0 (256 conns)', denominator: 'proxy route (256 conns)' },
        { label: 'function route / invoker alone', numerator: 'function route 1.0 (256 conns)', denominator: invoker.name },
        { label: 'BullMQ sandboxed / in-process processor', numerator: sandboxed.name, denominator: naive.name },
      ],
      profiles,
    );
    if (wrkResults) report('functions-wrk', [naive, ...wrkResults], versusNaive);
  } finally {
    await Promise.all(started.map((p) => p.stop()));
    const keys = await cleanup.keys(`${prefix}*`);
    if (keys.length) await cleanup.unlink(...keys);
    cleanup.disconnect();
  }
}

/** Keeps `inFlight` operations running for SECONDS and reports their rate and latency like autocannon does. */
async function closedLoop(name: string, inFlight: number, op: () => Promise<unknown>): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const warmEnd = performance.now() + 1000;
  const end = warmEnd + SECONDS * 1000;
  const loop = async () => {
    for (;;) {
      const t = performance.now();
      if (t > end) return;
      try {
        await op();
      } catch {
        errors++;
      }
      if (t > warmEnd) latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Math.round(quantileOf(latencies, p) * 100) / 100;
  return { name, requestsPerSec: Math.round(latencies.length / SECONDS), p50Ms: q(0.5), p99Ms: q(0.99), errors, non2xx: 0, total: latencies.length };
}

/**
 * The baseline: a BullMQ round trip with QueueEvents, producer and worker in this one process.
 * `sandboxed` runs the processor as a BullMQ sandboxed processor (a pool of child processes) instead.
 */
async function naiveBullmq(prefix: string, inFlight: number, sandboxed = false): Promise<Result> {
  const connection = { url: REDIS, maxRetriesPerRequest: null };
  const name = `naive${inFlight}${sandboxed ? 's' : ''}`;
  let processor: string | (() => Promise<unknown>) = async () => ({ statusCode: 200, body: 'ok' });
  if (sandboxed) {
    processor = join(mkdtempSync(join(tmpdir(), 'tp-bench-sandbox-')), 'processor.mjs');
    writeFileSync(processor, "export default async () => ({ statusCode: 200, body: 'ok' });\n");
  }
  const opts = { connection, prefix: `${prefix}:naive` };
  const queue = new Queue(name, opts);
  queue.setMaxListeners(IN_FLIGHT + 16);
  const events = new QueueEvents(name, opts);
  const worker = new Worker(name, processor, { ...opts, concurrency: sandboxed ? 8 : IN_FLIGHT });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
  try {
    return await closedLoop(`naive BullMQ ${sandboxed ? 'sandboxed (8 procs)' : 'round trip'} (${inFlight} in flight)`, inFlight, async () => {
      // Completed jobs are kept a while: waitUntilFinished looks a job up when it finished before it listened.
      const job = await queue.add('j', { e: {} }, { removeOnComplete: { count: 5000 } });
      await job.waitUntilFinished(events);
    });
  } finally {
    await worker.close();
    await events.close();
    await queue.close();
  }
}

/** The invoker without HTTP: the queue, the worker, the host process and the reply path only. */
async function invokerOnly(prefix: string): Promise<Result> {
  const invoker = new QueueFunctionInvoker({ redis: { url: REDIS }, keyPrefix: prefix, logger: pino({ level: 'warn' }), timeoutMs: 500 });
  try {
    let n = 0;
    return await closedLoop(`invoker alone, no HTTP (${IN_FLIGHT} in flight)`, IN_FLIGHT, () => invoker.invoke('noop', { n: n++ }, { requestId: 'bench', timeoutMs: 10_000 }));
  } finally {
    await invoker.close();
  }
}

/**
 * What isolation costs per invocation: a handler called in this process, against the same handler in a
 * host process (one IPC round trip each way), one at a time and with 4 hosts busy.
 */
async function isolationCost(): Promise<Result[]> {
  const modulePath = join(ROOT, 'examples/functions/noop.mjs');
  const { handler } = (await import(modulePath)) as { handler: (e: unknown) => Promise<unknown> };
  const spec = { name: 'noop', version: '$LATEST', queue: 'noop', modulePath, exportName: 'handler', root: join(ROOT, 'examples/functions'), timeoutMs: 3000, memoryMB: 128, environment: {}, concurrency: undefined, maxRetries: 2, retryBackoffMs: 1000, deadLetterRetentionMs: 14 * 86_400_000 };
  const pool = new HostPool(spec, { region: 'us-east-1', accountId: '000000000000', logger: pino({ level: 'warn' }), launcher: hostLauncher() }, 4);
  const msg = () => ({ event: '{"path":"/fn"}', traceparent: null, requestId: 'bench' });
  try {
    const inProcess = await closedLoop('handler in-process (1 at a time)', 1, async () => JSON.stringify(await handler(JSON.parse(msg().event))));
    await pool.warm();
    const one = await closedLoop('handler in a host process (1 at a time)', 1, () => pool.run(msg()));
    const four = await closedLoop('handler in 4 host processes (32 in flight)', 32, () => pool.run(msg()));
    return [inProcess, one, four];
  } finally {
    pool.close();
  }
}

/**
 * Where the time goes, in CPU µs per invocation of each process involved (edge, worker, its host
 * processes, Redis), from /proc and INFO while the function route is under load. CPU time is far less
 * disturbed by a busy machine than requests/s; Redis's share includes whatever else uses it meanwhile.
 */
async function cpuPerInvocation(t: Target, edgePid: number, workerPid: number, redis: Redis): Promise<Record<string, number>> {
  const ticks = (pid: number) => {
    const f = procStat(pid);
    return f === null ? 0 : Number(f[11]) + Number(f[12]);
  };
  const hostPids = () =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        return Number(procStat(d)?.[1]) === workerPid;
      })
      .map(Number);
  const redisCpu = async () => {
    const info = await redis.info('cpu');
    const v = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return (v('used_cpu_sys') + v('used_cpu_user')) * 1000;
  };
  const hosts0 = hostPids();
  const before = { edge: ticks(edgePid), worker: ticks(workerPid), hosts: hosts0.reduce((a, p) => a + ticks(p), 0), redis: await redisCpu() };
  const r = await measure(t, { durationSec: SECONDS, warmupSec: 0 });
  const hosts1 = hostPids();
  const after = { edge: ticks(edgePid), worker: ticks(workerPid), hosts: hosts1.reduce((a, p) => a + ticks(p), 0), redis: await redisCpu() };
  // /proc counts clock ticks of 10 ms; Redis reports seconds.
  const per = (ms: number) => Math.round((ms * 1000) / Math.max(1, r.total));
  const hostsBefore = hosts0.filter((p) => hosts1.includes(p)).length === hosts0.length ? before.hosts : 0;
  return {
    invocations: r.total,
    edge: per((after.edge - before.edge) * 10),
    worker: per((after.worker - before.worker) * 10),
    hostProcesses: per((after.hosts - hostsBefore) * 10),
    redis: per(after.redis - before.redis),
  };
}
