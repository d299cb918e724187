import autocannon from 'autocannon';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './processes.js';

/**
 * Every benchmark measures its targets side by side in one run and reports ratios, because this machine
 * is shared and noisy: absolute numbers from two runs are not comparable, ratios from one run are.
 */

export interface Target {
  name: string;
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  connections?: number;
  /** Requests in flight per connection. uWS closes a connection that pipelines behind an async response, so keep 1. */
  pipelining?: number;
  /** The process serving this target; when given, its CPU time per request is measured too. */
  pid?: number;
}

export interface Result {
  name: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  total: number;
  /**
   * CPU time (user + system) the serving process spent per request, in µs, when its pid is known. On a
   * shared machine throughput swings with whatever else runs; the CPU a request costs hardly does.
   */
  cpuUsPerRequest?: number | null;
  /**
   * The same split into user and kernel (system) time. Proxies make the same system calls per request
   * (nginx, the runtime floor and Turnpike: five each), so a gap in user time is work of the code, and
   * a gap in kernel time mostly how often the peers had to be woken.
   */
  cpuUserUsPerRequest?: number | null;
  cpuSystemUsPerRequest?: number | null;
  /**
   * Every round's run of this target, in round order, when `measureAll` ran more than one: a ratio is
   * also taken round by round (targets of one round ran minutes apart at most, the same machine state),
   * and its range says more about a target than one median does.
   */
  rounds?: Result[];
}

export interface MeasureOptions {
  durationSec: number;
  warmupSec: number;
}

export const DEFAULTS: MeasureOptions = {
  durationSec: Number(process.env.BENCH_SECONDS ?? 8),
  warmupSec: Number(process.env.BENCH_WARMUP_SECONDS ?? 2),
};

async function run(t: Target, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: t.url,
    method: t.method ?? 'GET',
    headers: t.headers,
    body: t.body,
    connections: t.connections ?? 64,
    pipelining: t.pipelining ?? 1,
    duration: seconds,
  });
}

/**
 * The load generator. autocannon runs in Node and takes a good share of the 2 cores itself, which
 * compresses ratios between fast targets; wrk (C, one thread) leaves more CPU to the servers.
 */
export type LoadGenerator = 'autocannon' | 'wrk';

interface Counted {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  total: number;
}

async function runAutocannon(t: Target, seconds: number): Promise<Counted> {
  const r = await run(t, seconds);
  return { requestsPerSec: Math.round(r.requests.average), p50Ms: r.latency.p50, p99Ms: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, total: r.requests.total };
}

/** The wrk binary, or null when it is not installed (apt-get install wrk). */
export function wrkBinary(): string | null {
  const found = spawnSync('which', ['wrk']).stdout?.toString().trim();
  return found ? found : null;
}

/** `wrk -t1 -c64 -d<s> --latency`: GET only (the suites that use it measure GET routes). */
async function runWrk(t: Target, seconds: number): Promise<Counted> {
  if ((t.method ?? 'GET') !== 'GET' || t.body !== undefined) throw new Error(`wrk runs GET targets only (${t.name})`);
  const args = ['-t1', `-c${t.connections ?? 64}`, `-d${seconds}s`, '--timeout', '5s', '--latency'];
  for (const [k, v] of Object.entries(t.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(t.url);
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(wrkBinary() ?? 'wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    p.stdout.on('data', (d: Buffer) => (text += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`))));
  });
  return parseWrk(out);
}

/** Parses wrk's `--latency` report. */
export function parseWrk(out: string): Counted {
  const ms = (v: string, unit: string): number => Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 1);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    const [, value, unit] = m ?? [];
    return value === undefined || unit === undefined ? NaN : Math.round(ms(value, unit) * 100) / 100;
  };
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requestsPerSec: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0)),
    p50Ms: pct('50'),
    p99Ms: pct('99'),
    errors: sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]) : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    total,
  };
}

/** Warms up, then measures one target for a fixed time (the load generator stops by itself). */
export async function measure(t: Target, opts: MeasureOptions = DEFAULTS, generator: LoadGenerator = 'autocannon'): Promise<Result> {
  const load = generator === 'wrk' ? runWrk : runAutocannon;
  if (opts.warmupSec > 0) await load(t, opts.warmupSec);
  const before = t.pid === undefined ? null : cpuTimes(t.pid);
  const r = await load(t, opts.durationSec);
  const after = t.pid === undefined ? null : cpuTimes(t.pid);
  const perRequest = (ms: (c: CpuTimes) => number) => (before === null || after === null || r.total === 0 ? null : Math.round((10_000 * (ms(after) - ms(before))) / r.total) / 10);
  return {
    cpuUsPerRequest: perRequest((c) => c.userMs + c.systemMs),
    cpuUserUsPerRequest: perRequest((c) => c.userMs),
    cpuSystemUsPerRequest: perRequest((c) => c.systemMs),
    name: t.name,
    ...r,
  };
}

/**
 * Measures targets one after the other, in rounds, so drift on the machine hits all alike; every other
 * round runs them in reverse order, so no target always follows the same one (a target right after
 * the 429 flood, say, inherits its garbage).
 */
export async function measureAll(all: Target[], rounds = Number(process.env.BENCH_ROUNDS ?? 1), opts = DEFAULTS, generator: LoadGenerator = 'autocannon'): Promise<Result[]> {
  const targets = selected(all);
  const acc = new Map<string, Result[]>();
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
      const res = await measure(t, opts, generator);
      acc.set(t.name, [...(acc.get(t.name) ?? []), res]);
    }
  }
  return targets.flatMap((t) => {
    const runs = acc.get(t.name) ?? [];
    const median = medianRun(runs);
    return median === undefined ? [] : [runs.length > 1 ? { ...median, rounds: runs } : median];
  });
}

/** The targets BENCH_ONLY (a regular expression over their names) selects; all without it. */
function selected<T extends Target>(all: readonly T[]): T[] {
  const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null;
  return only ? all.filter((t) => only.test(t.name)) : [...all];
}

export interface CpuTimes {
  userMs: number;
  systemMs: number;
}

/** User and system CPU time of a process in ms (Linux /proc; null elsewhere). */
export function cpuTimes(pid: number): CpuTimes | null {
  const fields = procStat(pid);
  // utime and stime, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
  return fields === null ? null : { userMs: Number(fields[11]) * 10, systemMs: Number(fields[12]) * 10 };
}

/**
 * On-CPU time of all of a process's threads in µs, to the nanosecond (Linux schedstat; null elsewhere or
 * when the kernel keeps no schedstats). /proc/PID/stat counts in 10 ms ticks, too coarse for one-second
 * slices: a busy process gets about a hundred of them.
 */
export function onCpuUs(pid: number): number | null {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // A thread that ended between the listing and the read: its time is gone from both readings.
      }
    }
    return Number.isFinite(ns) && ns > 0 ? ns / 1000 : null;
  } catch {
    return null;
  }
}

/** User + system CPU time of a process in ms (Linux /proc; null elsewhere). */
export function cpuMs(pid: number): number | null {
  const t = cpuTimes(pid);
  return t === null ? null : t.userMs + t.systemMs;
}

/** The fields of /proc/PID/stat after the command name (`state` first); null without such a process (or /proc). */
export function procStat(pid: number | string): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces or parentheses itself.
    return text.slice(text.lastIndexOf(') ') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The nearest-rank q-quantile (0..1) of ascending `sorted`; NaN when it is empty. */
export function quantileOf(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** The run with the median requests/s; undefined with no runs. */
export function medianRun(rs: Result[]): Result | undefined {
  const sorted = [...rs].sort((a, b) => a.requestsPerSec - b.requestsPerSec);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A ratio's value in each round both targets ran (null with fewer than two rounds). */
function roundRatios(n: Result, d: Result): { value: number[]; cpu: number[] } | null {
  const rn = n.rounds;
  const rd = d.rounds;
  if (rn === undefined || rd === undefined || rn.length !== rd.length) return null;
  const value: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < rn.length; i++) {
    const a = rn[i];
    const b = rd[i];
    if (a === undefined || b === undefined) continue;
    if (b.requestsPerSec > 0) value.push(a.requestsPerSec / b.requestsPerSec);
    if (a.cpuUsPerRequest && b.cpuUsPerRequest) cpu.push(a.cpuUsPerRequest / b.cpuUsPerRequest);
  }
  return { value, cpu };
}

/** The median of a set of ratios and its interquartile range. */
export interface Spread {
  median: number;
  q1: number;
  q3: number;
}

/** Median and quartiles (nearest rank) of `xs`; null when it is empty. */
export function spreadOf(xs: readonly number[]): Spread | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return { median: quantileOf(sorted, 0.5), q1: quantileOf(sorted, 0.25), q3: quantileOf(sorted, 0.75) };
}

/** A ratio measured in pairs of short slices (`measurePaired`). */
export interface PairedRatio {
  label: string;
  target?: number;
  generator: LoadGenerator;
  pairs: number;
  sliceSec: number;
  /** numerator / denominator requests/s, pair by pair. */
  value: Spread | null;
  /** numerator / denominator CPU per request, pair by pair: how many times the denominator's CPU the numerator spends. */
  cpu: Spread | null;
}

/**
 * Each ratio's two targets measured in alternating slices of `sliceSec` (BENCH_SLICE_SECONDS, 1), `pairs`
 * times (BENCH_SLICES; 0, the default, measures none), the order flipping every pair, and the ratio taken
 * pair by pair: its median and quartiles. The machine's state drifts over seconds to minutes, so two
 * slices a second apart see nearly the same machine, where two rounds of several seconds each often do
 * not. On the shared 2-core guest two identical edges measured this way came out 0.976-1.052× over seven
 * runs (±2% when the machine was quiet, ±3-5% when it was not), where one round scatters by ±5-10%.
 * Run after `measureAll`: the targets are warm.
 */
export async function measurePaired(
  targets: readonly Target[],
  ratios: readonly Ratio[],
  generator: LoadGenerator = 'autocannon',
  pairs = Number(process.env.BENCH_SLICES ?? 0),
  sliceSec = Number(process.env.BENCH_SLICE_SECONDS ?? 1),
): Promise<PairedRatio[]> {
  if (!(pairs > 0)) return [];
  const byName = new Map(selected(targets).map((t) => [t.name, t]));
  const out: PairedRatio[] = [];
  for (const q of ratios) {
    const n = byName.get(q.numerator);
    const d = byName.get(q.denominator);
    if (n === undefined || d === undefined) continue;
    const values: number[] = [];
    const cpus: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const first = await slice(i % 2 === 0 ? n : d, sliceSec, generator);
      const second = await slice(i % 2 === 0 ? d : n, sliceSec, generator);
      const [sn, sd] = i % 2 === 0 ? [first, second] : [second, first];
      if (sd.perSec > 0) values.push(sn.perSec / sd.perSec);
      if (sn.cpuUsPerRequest !== null && sd.cpuUsPerRequest !== null && sd.cpuUsPerRequest > 0) cpus.push(sn.cpuUsPerRequest / sd.cpuUsPerRequest);
    }
    out.push({ label: q.label, ...(q.target !== undefined ? { target: q.target } : {}), generator, pairs, sliceSec, value: spreadOf(values), cpu: spreadOf(cpus) });
  }
  return out;
}

/** One slice: requests/s and the serving process's on-CPU µs per request. */
async function slice(t: Target, seconds: number, generator: LoadGenerator): Promise<{ perSec: number; cpuUsPerRequest: number | null }> {
  const before = t.pid === undefined ? null : onCpuUs(t.pid);
  const r = await (generator === 'wrk' ? runWrk : runAutocannon)(t, seconds);
  const after = t.pid === undefined ? null : onCpuUs(t.pid);
  return { perSec: r.total / seconds, cpuUsPerRequest: before === null || after === null || r.total === 0 ? null : (after - before) / r.total };
}

export interface Ratio {
  label: string;
  numerator: string;
  denominator: string;
  /** The issue's target for this ratio, printed beside it. */
  target?: number;
}

/** Prints a table with requests/s, p50 and p99, the ratios, and writes JSON to loadtests/results/. */
export function report(suite: string, results: Result[], ratios: Ratio[], extra: Record<string, unknown> = {}, paired: readonly PairedRatio[] = []): Record<string, unknown> {
  const byName = new Map(results.map((r) => [r.name, r]));
  console.log(`\n== ${suite} ==`);
  console.log(`${'target'.padEnd(36)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'errors'.padStart(7)} ${'non2xx'.padStart(7)} ${'cpu µs/req'.padStart(10)} ${'user'.padStart(6)} ${'sys'.padStart(6)}`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(36)} ${String(r.requestsPerSec).padStart(9)} ${String(r.p50Ms).padStart(7)} ${String(r.p99Ms).padStart(7)} ${String(r.errors).padStart(7)} ${String(r.non2xx).padStart(7)} ${String(r.cpuUsPerRequest ?? '-').padStart(10)} ${String(r.cpuUserUsPerRequest ?? '-').padStart(6)} ${String(r.cpuSystemUsPerRequest ?? '-').padStart(6)}`,
    );
  }
  const computed = ratios.map((q) => {
    const n = byName.get(q.numerator);
    const d = byName.get(q.denominator);
    const value = n && d && d.requestsPerSec > 0 ? n.requestsPerSec / d.requestsPerSec : null;
    // CPU per request the other way round: how many times the denominator's CPU the numerator spends.
    const cpuRatio = n?.cpuUsPerRequest && d?.cpuUsPerRequest ? n.cpuUsPerRequest / d.cpuUsPerRequest : null;
    const byRound = n && d ? roundRatios(n, d) : null;
    const range = (xs: number[], unit: string) => (xs.length === 0 ? '' : ` ${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}${unit}`);
    console.log(
      `ratio ${q.label}: ${value === null ? 'n/a' : value.toFixed(2)}${q.target !== undefined ? ` (target >= ${q.target})` : ''}${cpuRatio === null ? '' : `; CPU per request ${cpuRatio.toFixed(2)}×`}` +
        (byRound === null ? '' : `; round by round${range(byRound.value, '')}${byRound.cpu.length > 0 ? `, CPU${range(byRound.cpu, '×')}` : ''}`),
    );
    return { ...q, value, cpuRatio, byRound };
  });
  for (const p of paired) {
    const iqr = (x: Spread, unit: string) => `${x.median.toFixed(3)}${unit} (IQR ${x.q1.toFixed(3)}-${x.q3.toFixed(3)}${unit})`;
    console.log(
      `paired ${p.label}: ${p.value === null ? 'n/a' : iqr(p.value, '')}${p.target !== undefined ? ` (target >= ${p.target})` : ''}` +
        `${p.cpu === null ? '' : `; CPU per request ${iqr(p.cpu, '×')}`}; ${p.pairs} pairs of ${p.sliceSec} s slices, ${p.generator}`,
    );
  }
  for (const [k, v] of Object.entries(extra)) console.log(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  const out = { suite, at: new Date().toISOString(), results, ratios: computed, ...(paired.length > 0 ? { paired } : {}), ...extra };
  const dir = join(ROOT, 'loadtests/results/');
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${suite}-${out.at.replace(/[:.]/g, '-')}.json`, JSON.stringify(out, null, 2));
  return out;
}
