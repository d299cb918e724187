import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const TURNPIKE_BIN = fileURLToPath(new URL('../../../bin/turnpike.mjs', import.meta.url));

/** A spawned `turnpike` process, with its output kept for assertions and failure messages. */
export interface TurnpikeProcess {
  readonly proc: ChildProcess;
  /** The `{"event":"listening",...}` line the process printed. */
  readonly info: Record<string, unknown>;
  output(): string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A process that printed its ready line, with everything it wrote so far and still writes. */
export interface ReadyProcess {
  readonly proc: ChildProcess;
  /** The ready line, parsed. */
  readonly info: Record<string, unknown>;
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

export interface SpawnReadyOptions {
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** The `event` of the JSON line that says the process is ready (`listening` by default). */
  readonly readyEvent?: string;
  /** Killed and rejected when not ready by then; no limit when absent. */
  readonly timeoutMs?: number;
  /** How errors name the process (the command line by default). */
  readonly label?: string;
}

/**
 * Spawns `cmd ...args` and resolves once it prints a JSON line with `"event":"<readyEvent>"` (edge and
 * worker print one when ready), or rejects with its output if it exits first. Test fixtures and the
 * benchmarks start every process through this.
 */
export function spawnReady(cmd: string, args: readonly string[], opts: SpawnReadyOptions = {}): Promise<ReadyProcess> {
  const proc = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const label = opts.label ?? `${cmd} ${args.join(' ')}`;
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const readyEvent = opts.readyEvent ?? 'listening';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            proc.kill('SIGKILL');
            reject(new Error(`${label} not ready in time:\n${out}`));
          }, opts.timeoutMs);
    const onData = () => {
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const info = JSON.parse(line) as Record<string, unknown>;
          if (info.event === readyEvent) {
            clearTimeout(timer);
            proc.stdout!.off('data', onData);
            resolve({ proc, info, output: () => out, exited });
            return;
          }
        } catch {
          /* not a JSON line */
        }
      }
    };
    proc.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code}) before ready:\n${out}`));
    });
  });
}

/** Spawns `turnpike ...args` and resolves once it is ready (see spawnReady). */
export async function spawnTurnpike(args: string[], opts: { env?: Record<string, string>; readyEvent?: string; timeoutMs?: number } = {}): Promise<TurnpikeProcess> {
  const { proc, info, output, exited } = await spawnReady(process.execPath, [TURNPIKE_BIN, ...args], { ...opts, timeoutMs: opts.timeoutMs ?? 20_000, label: `turnpike ${args.join(' ')}` });
  return {
    proc,
    info,
    output,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
