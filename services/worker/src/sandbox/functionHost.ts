/**
 * The process one function's handler runs in (bundled to services/worker/dist/functionHost.mjs and forked
 * by the worker's host pool). It loads the module once, then runs one invocation at a time for as long as
 * the worker keeps it; whatever the handler does (throw, exit, loop forever, crash) stays in this process.
 * Invocations handed over while one runs wait here in order; outcomes finished in the same turn of the
 * event loop go back in one message (protocol.ts).
 * The function's timeout is enforced by the parent, which kills this process: a handler spinning in a
 * loop never yields to a timer here.
 *
 * It dies with its worker: started through a parent-death signal where the system has one
 * (hostLauncher.ts), and it exits when the IPC channel closes while it is idle.
 *
 * argv: module file, export name, the worker's pid. Env: the function's environment, function name and memory, region and
 * account (TP_* names, removed before the handler loads).
 */
import { pathToFileURL } from 'node:url';
import type { DoneMessage, InitMessage, Invocation, ParentMessage, ReleasedMessage, Result } from './protocol.js';
import { lambdaContext, type FunctionIdentity } from './lambdaContext.js';

type Handler = (event: unknown, context: unknown, callback: (err: unknown, result?: unknown) => void) => unknown;

const [modulePath, exportName, workerPid] = process.argv.slice(2) as [string, string, string];
// The worker died before the parent-death signal was armed: this host is an orphan already.
if (process.ppid !== Number(workerPid)) process.exit(1);
const identity: FunctionIdentity = {
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function',
  functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
  memoryMB: Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? 128),
  region: process.env.AWS_REGION ?? 'us-east-1',
  accountId: process.env.TP_ACCOUNT_ID ?? '000000000000',
};
delete process.env.TP_ACCOUNT_ID;

/** Handed over, not started. */
const queued: Invocation[] = [];
/** The invocation running now (an uncaught error is charged to it), by id; null when idle. */
let running: number | null = null;
/** Outcomes not sent yet: they leave together at the end of this turn of the event loop. */
let results: Result[] = [];
let flushScheduled = false;

function send(msg: InitMessage | DoneMessage | ReleasedMessage, then?: () => void): void {
  process.send!(msg, undefined, undefined, then);
}

function flush(): void {
  flushScheduled = false;
  if (results.length === 0) return;
  send({ t: 'done', results });
  results = [];
}

function errorOf(err: unknown): { errorType: string; message: string } {
  if (err instanceof Error) return { errorType: err.name || 'Error', message: err.message };
  // Lambda reports a thrown string as the error message with type "string".
  return { errorType: typeof err, message: typeof err === 'string' ? err : String(JSON.stringify(err)) };
}

/**
 * An uncaught error: the process state is unknown now, so report it with whatever finished before it, and
 * exit; the pool forks a fresh host and runs the invocations still queued here elsewhere.
 */
function fatal(err: unknown, origin: string): void {
  const e = errorOf(err);
  const errorType = origin === 'unhandledRejection' ? 'Runtime.UnhandledPromiseRejection' : e.errorType;
  if (running !== null) results.push({ id: running, ok: false, errorType, message: e.message, fatal: true });
  running = null;
  queued.length = 0;
  if (results.length === 0) process.exit(1);
  send({ t: 'done', results }, () => process.exit(1));
  results = [];
}
process.on('uncaughtException', (err) => fatal(err, 'uncaughtException'));
process.on('unhandledRejection', (err) => fatal(err, 'unhandledRejection'));
// The parent drains on SIGINT/SIGTERM; a terminal's Ctrl-C reaches this process too and must not cut an invocation short.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => process.exit(0));

async function load(): Promise<Handler> {
  const mod = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
  const handler = mod[exportName] ?? (mod.default as Record<string, unknown> | undefined)?.[exportName];
  if (typeof handler !== 'function') {
    const err = new Error(`${modulePath} does not export a function named ${exportName}`);
    err.name = 'Runtime.HandlerNotFound';
    throw err;
  }
  return handler as Handler;
}

/** Starts the next queued invocation unless one is running. */
function next(handler: Handler): void {
  const inv = running === null ? queued.shift() : undefined;
  if (inv !== undefined) run(handler, inv);
}

function run(handler: Handler, inv: Invocation): void {
  running = inv.id;
  let settled = false;
  const finish = (err: unknown, result?: unknown) => {
    if (settled) return;
    settled = true;
    // A fatal error charged to this invocation already reported it.
    if (running !== inv.id) return;
    running = null;
    results.push(outcome(inv.id, err, result));
    // Idle now: the outcomes leave at once; else they wait for the end of this turn, so the ones the
    // next invocations come to meanwhile go with them.
    if (queued.length === 0) return flush();
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
    next(handler);
  };
  const context = lambdaContext(identity, inv.requestId, Date.now() + inv.timeoutMs, {
    succeed: (result) => finish(null, result),
    fail: (err) => finish(err ?? new Error('handled')),
    done: (err, result) => finish(err, result),
  });
  try {
    const out = handler(withTraceparent(JSON.parse(inv.event), inv.traceparent), context, (err, result) => finish(err, result));
    // An async handler (or one returning a promise) answers with its promise; a callback handler by calling back.
    if (out !== null && typeof out === 'object' && typeof (out as PromiseLike<unknown>).then === 'function') {
      (out as PromiseLike<unknown>).then((r) => finish(null, r), (e: unknown) => finish(e ?? new Error('rejected')));
    }
  } catch (err) {
    finish(err);
  }
}

function outcome(id: number, err: unknown, result: unknown): Result {
  if (err !== null && err !== undefined) return { id, ok: false, ...errorOf(err), fatal: false };
  let json: string | undefined;
  try {
    json = JSON.stringify(result);
  } catch (e) {
    return { id, ok: false, errorType: 'Runtime.MarshalError', message: `Unable to stringify response body: ${(e as Error).message}`, fatal: false };
  }
  return { id, ok: true, json: json ?? 'null' };
}

/** The caller's trace context reaches the handler as its event's `traceparent` header. */
function withTraceparent(event: unknown, traceparent: string | null): unknown {
  if (traceparent === null || typeof event !== 'object' || event === null) return event;
  const headers = (event as { headers?: unknown }).headers;
  if (typeof headers !== 'object' || headers === null) return event;
  (headers as Record<string, string>).traceparent = traceparent;
  const multi = (event as { multiValueHeaders?: unknown }).multiValueHeaders;
  if (typeof multi === 'object' && multi !== null) (multi as Record<string, string[]>).traceparent = [traceparent];
  return event;
}

load().then(
  (handler) => {
    process.on('message', (msg: ParentMessage) => {
      if (msg.t === 'invoke') {
        for (const inv of msg.invocations) queued.push(inv);
        next(handler);
      } else if (msg.t === 'release') {
        // Outcomes first: the worker reads the two in order and must not take back what finished.
        flush();
        send({ t: 'released', ids: queued.splice(0).map((inv) => inv.id) });
      }
    });
    send({ t: 'ready' });
  },
  (err: unknown) => {
    const e = errorOf(err);
    send({ t: 'init_error', errorType: e.errorType.startsWith('Runtime.') ? e.errorType : 'Runtime.ImportModuleError', message: e.message }, () => process.exit(1));
  },
);
