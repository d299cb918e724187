import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  readonly help: string;
  /** Resolves with the exit code; long-running commands resolve when they have stopped. */
  run(argv: string[]): Promise<number>;
}

/** Bad arguments: printed with the command's help, exit 2. */
export class UsageError extends Error {}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** Runs `stop` on the first SIGTERM or SIGINT; a second signal exits at once. */
export function onShutdown(stop: () => Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(1);
      stopping = true;
      void stop().finally(() => {
        process.off('SIGTERM', handler).off('SIGINT', handler);
        resolve();
        void signal;
      });
    };
    process.on('SIGTERM', handler).on('SIGINT', handler);
  });
}
