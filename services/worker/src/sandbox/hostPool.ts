import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { ReplyStatus } from '@turnpike/codec';
import type { FunctionSpec } from '../registry.js';
import type { DoneMessage, HostMessage, InvokeMessage } from './protocol.js';
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

/**
 * One function's execution environments: pre-forked host processes, each running one invocation at a
 * time and reused across invocations (a warm Lambda container). A host that crashed, exited or ran past
 * the timeout is killed and forgotten; the next invocation forks a fresh one. At most `size` hosts exist;
 * invocations beyond that wait (in order) for a host to come free, so the worker can keep more jobs in
 * flight than it has hosts and overlap their Redis round trips with the handlers' work.
 */
export class HostPool {
  private readonly idle: Host[] = [];
  private readonly all = new Set<Host>();
  private readonly waiters: Array<(host: Host | null) => void> = [];
  private closed = false;

  constructor(
    readonly spec: FunctionSpec,
    private readonly ctx: HostContext,
    private readonly maxHosts: number,
  ) {}

  /** Forks one host and waits until its module is loaded, so the first invocation is warm. */
  async warm(): Promise<void> {
    const host = this.spawn();
    await host.ready;
    if (host.alive) this.idle.push(host);
  }

  async run(msg: InvokeMessage): Promise<Outcome> {
    const host = await this.acquire();
    if (host === null) return { status: 'crash', payload: 'the worker is shutting down', errorType: 'Runtime.Shutdown' };
    try {
      const initError = await host.ready;
      if (initError !== null) return initError;
      return await host.run(msg, this.spec.timeoutMs);
    } finally {
      this.release(host);
    }
  }

  private acquire(): Promise<Host | null> | Host | null {
    if (this.closed) return null;
    let host = this.idle.pop();
    while (host !== undefined && !host.alive) host = this.idle.pop();
    if (host !== undefined) return host;
    if (this.all.size < this.maxHosts) return this.spawn();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(host: Host): void {
    if (!host.alive) this.all.delete(host);
    const next = this.waiters.shift();
    if (next !== undefined) {
      // A dead host's slot goes to a fresh one (its exit has already removed it from `all`).
      next(this.closed ? null : host.alive ? host : this.spawn());
      return;
    }
    if (host.alive && !this.closed) this.idle.push(host);
  }

  /** Kills every host (running invocations end as crashes; the worker drains before calling this). */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(null);
    for (const h of this.all) h.kill();
    this.idle.length = 0;
  }

  get size(): number {
    return this.all.size;
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
    const host = new Host(proc, spec.name, this.ctx.logger);
    this.all.add(host);
    proc.once('exit', () => this.all.delete(host));
    return host;
  }
}

/** One forked host process and the invocation it is running. */
class Host {
  alive = true;
  /** Resolves null once the module is loaded, or with the outcome every invocation gets if it failed to load. */
  readonly ready: Promise<Outcome | null>;
  private current: ((o: Outcome) => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private exitReason: string | null = null;

  constructor(
    private readonly proc: ChildProcess,
    functionName: string,
    private readonly logger: Logger,
  ) {
    this.ready = new Promise((resolve) => {
      const onMessage = (m: HostMessage) => {
        if (m.t === 'ready') resolve(null);
        else if (m.t === 'init_error') {
          this.logger.error({ function: functionName, errorType: m.errorType }, `function failed to load: ${m.message}`);
          resolve({ status: 'handler', payload: m.message, errorType: m.errorType });
        }
        if (m.t !== 'done') proc.off('message', onMessage);
      };
      proc.on('message', onMessage);
      proc.once('exit', (code, signal) => resolve({ status: 'crash', payload: `the function's process exited during init (${signal ?? code})`, errorType: 'Runtime.ExitError' }));
    });
    proc.on('message', (m: HostMessage) => {
      if (m.t === 'done') this.done(m);
    });
    proc.once('exit', (code, signal) => {
      this.alive = false;
      const why = this.exitReason;
      this.finish(
        why === 'timeout'
          ? null
          : { status: 'crash', payload: `RequestId exited: Runtime exited ${signal ? `with signal ${signal}` : `with error: exit status ${code}`}`, errorType: 'Runtime.ExitError' },
      );
    });
    proc.on('error', (err) => this.logger.warn({ err, function: functionName }, 'function host process error'));
  }

  run(msg: InvokeMessage, timeoutMs: number): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      if (!this.alive) {
        resolve({ status: 'crash', payload: "the function's process is gone", errorType: 'Runtime.ExitError' });
        return;
      }
      this.current = resolve;
      this.timer = setTimeout(() => {
        // Killing is the only way to stop a handler that never yields; its host is not reused.
        this.exitReason = 'timeout';
        this.finish({ status: 'function_timeout', payload: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`, errorType: 'Sandbox.Timedout' });
        this.kill();
      }, timeoutMs);
      this.proc.send(msg);
    });
  }

  kill(): void {
    this.alive = false;
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }

  private done(m: DoneMessage): void {
    if (m.ok) this.finish({ status: 'ok', payload: m.json, errorType: null });
    else {
      if (m.fatal) this.alive = false;
      this.finish({ status: m.fatal ? 'crash' : 'handler', payload: m.message, errorType: m.errorType });
    }
  }

  private finish(o: Outcome | null): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const c = this.current;
    this.current = null;
    if (c !== null && o !== null) c(o);
  }
}
