import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { quantileOf } from '../harness.js';
import { ROOT, TURNPIKE } from '../processes.js';

/**
 * Issue 21's benchmark: how long the `turnpike` command takes to start, beside bare Node in the same
 * run (the machine's own start-up cost): `--help` (target < 0.3 s) and `validate` of the example
 * config (target < 0.5 s). Each command runs BENCH_CLI_RUNS times; the median wall time counts, and
 * the median CPU time (user + system, reported by the process itself as it exits) is the figure that
 * survives a loaded machine: wall time there is mostly waiting for a core.
 */
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 9);
/** Preloaded into each run: writes the process's own CPU time to fd 3 when it exits. */
const REPORT_CPU = `data:text/javascript,import { writeSync } from 'node:fs'; process.on('exit', () => { const u = process.cpuUsage(); writeSync(3, String((u.user + u.system) / 1000)); });`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return quantileOf(s, 0.5);
}

interface Timing {
  medianMs: number;
  minMs: number;
  cpuMs: number;
}

function time(args: string[]): Timing {
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--import', REPORT_CPU, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
    ms.push(performance.now() - t0);
    cpu.push(Number(r.output[3]?.toString()));
  }
  return { medianMs: median(ms), minMs: Math.min(...ms), cpuMs: median(cpu) };
}

export async function run(): Promise<void> {
  const rows: [string, Timing, number | null][] = [
    ['node -e 0 (bare Node)', time(['-e', '0']), null],
    ['turnpike --help', time([TURNPIKE, '--help']), 300],
    ['turnpike validate --config examples/turnpike.yaml', time([TURNPIKE, 'validate', '--config', join(ROOT, 'examples/turnpike.yaml')]), 500],
    ['turnpike keys --help', time([TURNPIKE, 'keys', '--help']), null],
  ];
  console.log(`\n== cli ==  (${RUNS} runs each, median and fastest wall time, median CPU time)`);
  for (const [name, t, target] of rows) {
    console.log(
      `${name.padEnd(52)} ${t.medianMs.toFixed(0).padStart(6)} ms  (fastest ${t.minMs.toFixed(0)} ms, CPU ${t.cpuMs.toFixed(0)} ms)${target === null ? '' : `  target < ${target} ms: ${t.medianMs < target ? 'met' : 'NOT met'}`}`,
    );
  }
}
