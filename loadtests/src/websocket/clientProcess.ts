import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ROOT } from '../processes.js';

/**
 * The idle WebSocket client processes of the websocket benchmarks, of either kind behind one interface:
 * - 'c' (the default): idleClient.c, compiled with the machine's `cc` on first use: 16 bytes of user
 *   memory per connection (~70 B of RSS measured at 20,000), so a million connections' clients fit on
 *   the machine beside the edges;
 * - 'node': idleClients.ts (bundled to loadtests/dist/wsIdleClients.mjs), a net.Socket per connection
 *   (~5.6 KB of RSS), for a machine without a C compiler.
 * Both speak JSON lines over stdin/stdout (messages in idleClients.ts) and count the same bytes; with
 * either, wsscale and websocket gave the same reach and delivery results, and C connected faster.
 */
export type ClientKind = 'node' | 'c';

/** BENCH_WSS_CLIENT: which kind the benchmarks start. */
export const CLIENT_KIND: ClientKind = clientKind(process.env.BENCH_WSS_CLIENT ?? 'c');

export interface ClientProcess {
  readonly pid: number;
  request<T>(msg: Record<string, unknown>, reply: string): Promise<T>;
  /** Closes its connections and exits; resolves once it has (a process with 16,000 sockets takes a moment). */
  close(): Promise<void>;
}

const NODE_CLIENT = join(ROOT, 'loadtests/dist/wsIdleClients.mjs');
const C_SOURCE = join(ROOT, 'loadtests/src/websocket/idleClient.c');
const C_BUILD_DIR = join(ROOT, 'loadtests/.build');

function clientKind(value: string): ClientKind {
  if (value === 'node' || value === 'c') return value;
  throw new Error(`BENCH_WSS_CLIENT=${value}: expected node or c`);
}

export async function startClient(kind: ClientKind = CLIENT_KIND): Promise<ClientProcess> {
  const [cmd, args] = kind === 'c' ? [cClientBinary(), []] : [process.execPath, [NODE_CLIENT]];
  const proc: ChildProcessByStdio<Writable, Readable, null> = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map<string, { resolve: (m: unknown) => void; reject: (err: Error) => void }>();
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const m = JSON.parse(line) as { type: string };
    const w = waiting.get(m.type);
    waiting.delete(m.type);
    w?.resolve(m);
  });
  // A client that dies (or never starts) fails what waits on it instead of hanging the benchmark.
  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  proc.on('error', failAll);
  const exited = new Promise<void>((resolve) =>
    proc.on('exit', (code, signal) => {
      failAll(new Error(`${kind} client process ${proc.pid} exited (${signal ?? code})`));
      resolve();
    }),
  );
  // Writes to a client that exited fail through 'exit' above, not as an unhandled stream error.
  proc.stdin.on('error', () => {});
  const request = <T>(msg: Record<string, unknown>, reply: string) =>
    new Promise<T>((resolve, reject) => {
      waiting.set(reply, { resolve: resolve as (m: unknown) => void, reject });
      proc.stdin.write(`${JSON.stringify(msg)}\n`);
    });
  await new Promise((resolve, reject) => waiting.set('ready', { resolve, reject }));
  return {
    pid: proc.pid as number,
    request,
    close: () => {
      proc.stdin.end(`${JSON.stringify({ type: 'close' })}\n`);
      return exited;
    },
  };
}

/**
 * The C client's executable, compiled with `cc -O2` into loadtests/.build/ (gitignored) the first time
 * its source is used (the name carries a hash of the source, so an edited source is compiled again).
 */
function cClientBinary(): string {
  const source = readFileSync(C_SOURCE);
  const binary = join(C_BUILD_DIR, `idleClient-${createHash('sha256').update(source).digest('hex').slice(0, 16)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(C_BUILD_DIR, { recursive: true });
  const building = `${binary}.${process.pid}`;
  const cc = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-o', building, C_SOURCE], { stdio: 'inherit' });
  if ((cc.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('the C WebSocket client (BENCH_WSS_CLIENT=c, the default) is compiled with `cc`, which is not installed: install gcc (Debian/Ubuntu: apt-get install build-essential), or run the Node client with BENCH_WSS_CLIENT=node');
  }
  if (cc.error) throw cc.error;
  if (cc.status !== 0) throw new Error(`cc could not compile ${C_SOURCE} (exit status ${cc.status})`);
  // Renamed into place whole: a benchmark started meanwhile never runs a half-written file.
  renameSync(building, binary);
  // Builds of earlier versions of the source are not run again (a build under way elsewhere has a suffix).
  for (const f of readdirSync(C_BUILD_DIR)) if (/^idleClient-[0-9a-f]{16}$/.test(f) && join(C_BUILD_DIR, f) !== binary) rmSync(join(C_BUILD_DIR, f));
  return binary;
}
