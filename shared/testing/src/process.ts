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

/**
 * Spawns `turnpike ...args` and resolves once it prints a JSON line with `"event":"<readyEvent>"`
 * (edge and worker print one when ready), or rejects with its output if it exits first.
 */
export function spawnTurnpike(args: string[], opts: { env?: Record<string, string>; readyEvent?: string; timeoutMs?: number } = {}): Promise<TurnpikeProcess> {
  const proc = spawn(process.execPath, [TURNPIKE_BIN, ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const readyEvent = opts.readyEvent ?? 'listening';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`turnpike ${args.join(' ')} not ready in time:\n${out}`));
    }, opts.timeoutMs ?? 20_000);
    const onData = () => {
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const info = JSON.parse(line) as Record<string, unknown>;
          if (info.event === readyEvent) {
            clearTimeout(timer);
            proc.stdout!.off('data', onData);
            resolve({
              proc,
              info,
              output: () => out,
              stop: async (signal = 'SIGTERM') => {
                if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
                return exited;
              },
            });
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
      reject(new Error(`turnpike ${args.join(' ')} exited (${code}) before ready:\n${out}`));
    });
  });
}
