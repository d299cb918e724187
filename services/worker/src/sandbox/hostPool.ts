import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { ReplyStatus } from '@turnpike/codec';
import type { FunctionSpec } from '../registry.js';
import type { DoneMessage, HostMessage, Invocation } from './protocol.js';
import type { HostLauncher } from './hostLauncher.js';

/** What one invocation came to; `payload` is the result's JSON text when ok, else the error message. */
export interface Outcome {
  readonly status: ReplyStatus;
  readonly payload: string;
  readonly errorType: string | null;
}

export interface HostContext {
  readonly region: string;
  readonly accountId: string;
  readonly logger: Logger;
  /** How hosts are started so that they die with this worker (hostLauncher.ts). */
  readonly launcher: HostLauncher;
}

let hostScript: string | null = null;
/** The bundled host (`npm run build`); resolved through the package so it is found from sources and bundles alike. */
function hostScriptPath(): string {
  return (hostScript ??= createRequire(import.meta.url).resolve('@turnpike/worker/dist/functionHost.mjs'));
}

/** An invocation to run, without the pool's id and the function's timeout. */
export type InvocationRequest = Omit<Invocation, 'id' | 'timeoutMs'>;

/**
 * How many invocations one host holds at most (running and queued in it): beyond that they wait in the
 * pool. The worker keeps 8 jobs in flight per host (worker.ts), so a busy host gets them in batches.
 */
const MAX_HANDED_OVER = 8;
/**
 * How long an invocation waits in a host, behind others, before the host is asked to give back what it
 * has not started and takes nothing more until the one it runs finishes (a trivial handler takes well
 * under 1 ms here, so with fast handlers nothing waits this long).
 */
export const RELEASE_AFTER_MS = 10;

const SHUTDOWN: Outcome = { status: 'crash', payload: 'the worker is shutting down', errorType: 'Runtime.Shutdown' };

interface Pending {
  readonly inv: Invocation;
  readonly resolve: (o: Outcome) => void;
  /** When it was handed to its host (ms). */
  handedAt: number;
}

/** What a host tells its pool. */
interface PoolEvents {
  /** It can take more (an invocation finished). */
  freed(): void;
  /** It will not run these (it gave them back, or it is gone before starting them): run them elsewhere. */
  returned(pending: Pending[]): void;
  /** It is gone. */
  gone(host: Host): void;
}

/**
 * One function's execution environments: pre-forked host processes, each running one invocation at a
 * time and reused across invocations (a warm Lambda container). A host that crashed, exited or ran past
 * the timeout is killed and forgotten; the next invocation forks a fresh one. At most `maxHosts` exist.
 *
 * An invocation goes to an idle host, else to a new one while there are fewer than `maxHosts`, else it
 * queues in the busy host holding the fewest (up to MAX_HANDED_OVER), so the worker writes to a busy
 * host once per batch rather than once per invocation (protocol.ts); with every host full it waits here,
 * in order. No invocation waits in a host for long (RELEASE_AFTER_MS), and a host that
 * dies hands back the ones it had not started: only the one it was running is charged with its death.
 */
export class HostPool {
  private readonly all = new Set<Host>();
  private readonly waiting: Pending[] = [];
  private nextId = 0;
  private closed = false;
  private readonly events: PoolEvents = {
    freed: () => this.drain(),
    returned: (pending) => {
      // They are older than any waiting here.
      this.waiting.unshift(...pending);
      this.drain();
    },
    gone: (host) => {
      this.all.delete(host);
      this.drain();
    },
  };

  constructor(
    readonly spec: FunctionSpec,
    private readonly ctx: HostContext,
    private readonly maxHosts: number,
  ) {}

  /** Forks one host and waits until its module is loaded, so the first invocation is warm. */
  async warm(): Promise<void> {
    await this.spawn().ready;
  }

  run(req: InvocationRequest): Promise<Outcome> {
    return new Promise((resolve) => this.dispatch({ inv: { id: this.nextId++, event: req.event, traceparent: req.traceparent, requestId: req.requestId, timeoutMs: this.spec.timeoutMs }, resolve, handedAt: 0 }));
  }

  /** Kills every host (running invocations end as crashes, the rest as shutdowns; the worker drains first). */
  close(): void {
    this.closed = true;
    for (const p of this.waiting.splice(0)) p.resolve(SHUTDOWN);
    for (const h of this.all) h.kill();
  }

  get size(): number {
    return this.all.size;
  }

  private dispatch(p: Pending): void {
    if (this.closed) return p.resolve(SHUTDOWN);
    const host = this.pick();
    if (host === null) this.waiting.push(p);
    else host.hand(p);
  }

  private drain(): void {
    if (this.closed) {
      for (const p of this.waiting.splice(0)) p.resolve(SHUTDOWN);
      return;
    }
    let host: Host | null;
    while (this.waiting.length > 0 && (host = this.pick()) !== null) host.hand(this.waiting.shift()!);
  }

  /** An idle host, else a new one, else the accepting host holding the fewest; null when none can take more. */
  private pick(): Host | null {
    let best: Host | null = null;
    for (const h of this.all) {
      if (!h.accepting) continue;
      if (h.load === 0) return h;
      if (best === null || h.load < best.load) best = h;
    }
    if (this.all.size < this.maxHosts) return this.spawn();
    return best;
  }

  private spawn(): Host {
    const spec = this.spec;
    const { launcher } = this.ctx;
    // The worker's pid: the host exits at once if its parent is already someone else (hostLauncher.ts).
    const proc = fork(hostScriptPath(), [spec.modulePath, spec.exportName, String(process.pid)], {
      execPath: launcher.execPath,
      // The worker's own environment (Redis URL, credentials) is not the function's business.
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        LANG: process.env.LANG ?? 'C.UTF-8',
        TZ: 'UTC',
        NODE_ENV: process.env.NODE_ENV ?? 'production',
        AWS_REGION: this.ctx.region,
        AWS_DEFAULT_REGION: this.ctx.region,
        AWS_LAMBDA_FUNCTION_NAME: spec.name,
        AWS_LAMBDA_FUNCTION_VERSION: spec.version,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMB),
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
        // The hosts run on this worker's Node (launcher.execPath), so its major version is the runtime's.
        AWS_EXECUTION_ENV: `AWS_Lambda_nodejs${process.versions.node.split('.')[0]}.x`,
        LAMBDA_TASK_ROOT: spec.root,
        TP_ACCOUNT_ID: this.ctx.accountId,
        ...spec.environment,
      },
      // The function's memory size caps its heap: running out crashes its host, as it would its Lambda.
      execArgv: [...launcher.prefix, `--max-old-space-size=${spec.memoryMB}`],
      // The handler's console goes to the worker's stderr; stdout carries the worker's own event lines.
      stdio: ['ignore', 2, 2, 'ipc'],
      // Every message is plain JSON data, and Node's JSON framing costs less CPU per message than its
      // structured-clone one (measured: docs/functions.md, "What changed for speed").
      serialization: 'json',
    });
    const host = new Host(proc, spec.name, spec.timeoutMs, this.ctx.logger, this.events);
    this.all.add(host);
    return host;
  }
}

/**
 * One forked host process and the invocations handed to it, in order: the first is running (or finished,
 * its outcome on the way), the rest wait in the host.
 */
class Host {
  alive = true;
  /** Resolves once the module is loaded, failed to load, or the host is gone. */
  readonly ready: Promise<void>;
  private isReady = false;
  private readonly handed: Pending[] = [];
  /** Handed, not sent yet: they leave together at the end of this turn of the event loop. */
  private outbox: Invocation[] = [];
  private flushScheduled = false;
  /** When the first of `handed` started, as far as this process can tell (the previous one's outcome arrived). */
  private headSince = 0;
  private timer: NodeJS.Timeout | null = null;
  /** It was asked to give back what waited too long: it takes nothing more until the one it runs finishes. */
  private behind = false;
  /** The first of `handed` ran past the function's timeout: answered already, and the host is being killed. */
  private timedOut: Pending | null = null;
  /** The host reported a fatal error: it started nothing after it. */
  private fatal = false;
  private initError: Outcome | null = null;

  constructor(
    private readonly proc: ChildProcess,
    functionName: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    private readonly pool: PoolEvents,
  ) {
    let loaded!: () => void;
    this.ready = new Promise((resolve) => (loaded = resolve));
    proc.on('message', (m: HostMessage) => {
      switch (m.t) {
        case 'done':
          return this.done(m);
        case 'released':
          return this.released(m.ids);
        case 'ready': {
          this.isReady = true;
          loaded();
          // Their wait in this host counts from when it can run them, not from its cold start.
          const now = Date.now();
          for (const p of this.handed) p.handedAt = now;
          if (this.handed.length > 0) this.startHead();
          return this.flush();
        }
        case 'init_error':
          this.logger.error({ function: functionName, errorType: m.errorType }, `function failed to load: ${m.message}`);
          this.initError = { status: 'handler', payload: m.message, errorType: m.errorType };
          for (const p of this.handed.splice(0)) p.resolve(this.initError);
          return loaded();
      }
    });
    proc.once('exit', () => {
      this.alive = false;
      this.stopTimer();
    });
    // After the exit and the last message from the pipe: what the host finished before dying was read.
    proc.once('close', (code, signal) => {
      this.alive = false;
      this.stopTimer();
      loaded();
      this.settleAfterDeath(code, signal);
      this.pool.gone(this);
    });
    proc.on('error', (err) => this.logger.warn({ err, function: functionName }, 'function host process error'));
  }

  /** How many invocations it holds. */
  get load(): number {
    return this.handed.length;
  }

  get accepting(): boolean {
    return this.alive && !this.behind && this.initError === null && this.handed.length < MAX_HANDED_OVER;
  }

  hand(p: Pending): void {
    if (this.initError !== null) return p.resolve(this.initError);
    p.handedAt = Date.now();
    this.handed.push(p);
    this.outbox.push(p.inv);
    if (!this.isReady) return;
    if (this.handed.length === 1) {
      // An idle host starts at once; others wait for the rest of this turn's invocations to go with them.
      this.startHead();
      return this.flush();
    }
    if (this.handed.length === 2) this.arm();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  kill(): void {
    this.alive = false;
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0 || !this.alive || !this.proc.connected) return;
    this.proc.send({ t: 'invoke', invocations: this.outbox });
    this.outbox = [];
  }

  private done(m: DoneMessage): void {
    for (const r of m.results) {
      const i = this.handed.findIndex((p) => p.inv.id === r.id);
      if (i < 0) continue;
      const [p] = this.handed.splice(i, 1);
      // A late outcome of an invocation answered as timed out already.
      if (p === this.timedOut) continue;
      if (r.ok) p!.resolve({ status: 'ok', payload: r.json, errorType: null });
      else {
        if (r.fatal) {
          this.fatal = true;
          this.alive = false;
        }
        p!.resolve({ status: r.fatal ? 'crash' : 'handler', payload: r.message, errorType: r.errorType });
      }
    }
    if (!this.alive) return;
    this.stopTimer();
    this.behind = false;
    if (this.handed.length > 0) this.startHead();
    this.pool.freed();
  }

  private released(ids: readonly number[]): void {
    const back: Pending[] = [];
    for (const id of ids) {
      const i = this.handed.findIndex((p) => p.inv.id === id);
      if (i >= 0) back.push(this.handed.splice(i, 1)[0]!);
    }
    if (back.length > 0) this.pool.returned(back);
  }

  private startHead(): void {
    this.headSince = Date.now();
    this.arm();
  }

  /** Sets the timer to the running invocation's timeout, or earlier to when the oldest waiting one has waited too long. */
  private arm(): void {
    this.stopTimer();
    if (this.handed.length === 0) return;
    let at = this.headSince + this.timeoutMs;
    const oldestWaiting = this.handed[1];
    if (oldestWaiting !== undefined && !this.behind) at = Math.min(at, oldestWaiting.handedAt + RELEASE_AFTER_MS);
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - Date.now()));
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private onTimer(): void {
    this.timer = null;
    const head = this.handed[0];
    if (head === undefined || !this.alive) return;
    const now = Date.now();
    if (now - this.headSince >= this.timeoutMs) {
      // Killing is the only way to stop a handler that never yields; its host is not reused.
      this.timedOut = head;
      head.resolve({ status: 'function_timeout', payload: `Task timed out after ${(this.timeoutMs / 1000).toFixed(2)} seconds`, errorType: 'Sandbox.Timedout' });
      this.kill();
      return;
    }
    const oldestWaiting = this.handed[1];
    if (!this.behind && oldestWaiting !== undefined && now - oldestWaiting.handedAt >= RELEASE_AFTER_MS) {
      this.behind = true;
      // Those not sent yet need no asking.
      const unsent = this.outbox.length;
      if (unsent > 0) {
        this.outbox = [];
        this.pool.returned(this.handed.splice(this.handed.length - unsent));
      }
      if (this.handed.length > 1 && this.proc.connected) this.proc.send({ t: 'release' });
    }
    this.arm();
  }

  /**
   * The host is gone. It runs its invocations in order, one at a time, and its outcomes have all been
   * read: so of those still held, only the first can have started. That one is charged with the death
   * (unless it was answered already: timed out, or the host said it was fatal), the rest run elsewhere.
   */
  private settleAfterDeath(code: number | null, signal: NodeJS.Signals | null): void {
    this.outbox = [];
    const left = this.handed.splice(0);
    if (!this.isReady) {
      const o: Outcome = { status: 'crash', payload: `the function's process exited during init (${signal ?? code})`, errorType: 'Runtime.ExitError' };
      for (const p of left) p.resolve(this.initError ?? o);
      return;
    }
    const first = left[0];
    if (first !== undefined && first !== this.timedOut && !this.fatal) {
      first.resolve({ status: 'crash', payload: `RequestId exited: Runtime exited ${signal ? `with signal ${signal}` : `with error: exit status ${code}`}`, errorType: 'Runtime.ExitError' });
    }
    const rest = first === undefined || this.fatal ? left : left.slice(1);
    if (rest.length > 0) this.pool.returned(rest);
  }
}
