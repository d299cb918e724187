import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  readonly help: string;
  /** Resolves with the exit code; long-running commands resolve when they have stopped. */
  run(argv: string[]): Promise<number>;
}

/** Bad arguments: printed with the command's help, exit 2. */
export class UsageError extends Error {}

/** Parses the options and refuses more than `maxPositionals` positional arguments (where the count depends on the action, the command checks it). */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, maxPositionals = Infinity) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const extra = parsed.positionals[maxPositionals];
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  return parsed;
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

/** `--stage-variable NAME=VALUE` (repeatable): the `$default` stage's variables of a document given directly. */
export const STAGE_VARIABLE_OPTION = { 'stage-variable': { type: 'string', multiple: true } } as const;

export function stageVariables(values: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of values ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0 || !/^[A-Za-z0-9_]+$/.test(kv.slice(0, eq))) throw new UsageError(`--stage-variable "${kv}" is not NAME=VALUE (NAME letters, digits and _)`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}
