import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { quantileOf } from '../harness.js';
import { ROOT, TURNPIKE } from '../processes.js';

/**
 * Issue 21's benchmark: how long the `turnpike` command takes to start, beside bare Node in the same
 * run (the machine's own start-up cost): `--help` (target < 0.3 s) and `validate` of the example
 * config (target < 0.5 s). Each command runs BENCH_CLI_RUNS times; the median wall time counts.
 */
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 9);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return quantileOf(s, 0.5);
}

function time(args: string[]): { medianMs: number; minMs: number } {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
    ms.push(performance.now() - t0);
  }
  return { medianMs: median(ms), minMs: Math.min(...ms) };
}

export async function run(): Promise<void> {
  const rows: [string, { medianMs: number; minMs: number }, number | null][] = [
    ['node -e 0 (bare Node)', time(['-e', '0']), null],
    ['turnpike --help', time([TURNPIKE, '--help']), 300],
    ['turnpike validate --config examples/turnpike.yaml', time([TURNPIKE, 'validate', '--config', join(ROOT, 'examples/turnpike.yaml')]), 500],
    ['turnpike keys --help', time([TURNPIKE, 'keys', '--help']), null],
  ];
  console.log(`\n== cli ==  (${RUNS} runs each, median and fastest wall time)`);
  for (const [name, t, target] of rows) {
    console.log(`${name.padEnd(52)} ${t.medianMs.toFixed(0).padStart(6)} ms  (fastest ${t.minMs.toFixed(0)} ms)${target === null ? '' : `  target < ${target} ms: ${t.medianMs < target ? 'met' : 'NOT met'}`}`);
  }
}
