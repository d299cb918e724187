import { ControlCallError, ControlClient } from '@turnpike/control';
import { UsageError, intOption } from '../command.js';

/** The options every admin API command takes. */
export const CONTROL_OPTIONS = {
  endpoint: { type: 'string' },
  token: { type: 'string' },
  'if-match': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const CONTROL_HELP = `Admin API: --endpoint URL (default $TURNPIKE_CONTROL_URL or http://127.0.0.1:9091) and --token T
(default $TURNPIKE_TOKEN; create one with turnpike control tokens create). --if-match N applies a change
only if the record is still at version N (else exit 1 with the conflict). --json prints the API's JSON.`;

export const DEFAULT_CONTROL_URL = 'http://127.0.0.1:9091';

/** Runs `fn` with a client; an error answer prints `turnpike <command>: <message>` and exits 1. */
export async function withClient(command: string, values: { endpoint?: string; token?: string }, fn: (client: ControlClient) => Promise<number>): Promise<number> {
  const token = values.token ?? process.env.TURNPIKE_TOKEN;
  if (!token) throw new UsageError('an admin token is required: --token T or $TURNPIKE_TOKEN');
  const client = new ControlClient(values.endpoint ?? process.env.TURNPIKE_CONTROL_URL ?? DEFAULT_CONTROL_URL, token);
  try {
    return await fn(client);
  } catch (err) {
    if (!(err instanceof ControlCallError)) throw err;
    console.error(`turnpike ${command}: ${err.message}${err.status ? ` (HTTP ${err.status} ${err.code})` : ''}`);
    const issues = (err.body as { error?: { issues?: { path: string; message: string }[] } } | null)?.error?.issues;
    for (const i of issues ?? []) console.error(`  ${i.path}: ${i.message}`);
    return 1;
  }
}

export function ifMatch(values: { 'if-match'?: string }): number | undefined {
  return intOption(values['if-match'], 'if-match', 0, Number.MAX_SAFE_INTEGER);
}

/** `--variable k=v` (repeatable) as an object. */
export function variables(list: string[] | undefined): Record<string, string> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--variable takes NAME=VALUE, got "${kv}"`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

export function required<T>(v: T | undefined, name: string): T {
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** Prints `value` as JSON with --json, else the text `human` gives. */
export function print(json: boolean | undefined, value: unknown, human: () => void): void {
  if (json) process.stdout.write(`${JSON.stringify(value)}\n`);
  else human();
}
