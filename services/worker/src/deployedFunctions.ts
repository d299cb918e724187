import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { qualifiedFunctionName } from '@turnpike/codec';
import { functionVersion, type DeployedFunctionConfig } from '@turnpike/config';
import { RevisionFollower, type RedisClient, type RedisKeys, type RevisionToServe } from '@turnpike/redis';
import { defaults, type FunctionSpec } from './registry.js';

/** What DeployedFunctions needs of the worker. */
export interface FunctionServer {
  serve(spec: FunctionSpec): Promise<void>;
  retire(queue: string): Promise<void>;
  idle(queue: string): Promise<boolean>;
}

export interface DeployedFunctionsOptions {
  redis: RedisClient;
  keys: RedisKeys;
  worker: FunctionServer;
  logger: Logger;
  /** How often the revision is checked, in case a pub/sub message was missed (default 2 s). */
  pollMs?: number;
}

/**
 * Keeps a worker running the functions of every deployment some stage (or canary) serves, as the
 * edges' ControlFollower keeps their routes (docs/functions.md, "Functions in deployments"). Each
 * function version (`name@version`, a hash of its definition) is served from its own queue, with hosts
 * loading its code from a directory of its own, so a new version never touches the old one's hosts:
 * invocations of the old version in flight finish on them. A version no deployment serves any more is
 * retired once the edges can no longer be sending to it (two poll intervals, the longest an edge that
 * missed the pub/sub message takes to notice) and its queues are empty; a deploy that brings it back
 * before then keeps it.
 */
export class DeployedFunctions {
  private readonly revisions: RevisionFollower;
  private readonly codeRoot = mkdtempSync(join(tmpdir(), 'turnpike-functions-'));
  /** Deployed versions served, by queue. */
  private readonly served = new Set<string>();
  /** Versions no deployment serves, waiting to be retired. */
  private readonly retiring = new Map<string, NodeJS.Timeout>();
  /** The revision whose functions are served, -1 before the first. */
  revision = -1;

  constructor(private readonly opts: DeployedFunctionsOptions) {
    this.revisions = new RevisionFollower({
      redis: opts.redis,
      keys: opts.keys,
      connectionName: 'turnpike-worker-control',
      pollMs: opts.pollMs,
      settled: (r) => r === this.revision,
      serve: (next) => this.serve(next),
      onLoadError: (err) => opts.logger.warn({ err }, 'control plane: cannot load the deployed functions; keeping those served'),
    });
  }

  /** Resolves once the functions of the revision current at start are served (or failed to start, which is logged). */
  async start(): Promise<this> {
    await this.revisions.start();
    return this;
  }

  async close(): Promise<void> {
    const closing = this.revisions.close();
    for (const t of this.retiring.values()) clearTimeout(t);
    this.retiring.clear();
    await closing;
  }

  /** Once the worker has stopped every host (a host forked while draining still loads its module). */
  removeCode(): void {
    rmSync(this.codeRoot, { recursive: true, force: true });
  }

  /** A deployment that does not exist serves no functions; the rest of the revision is served. */
  private async serve({ snapshot, deployments }: RevisionToServe): Promise<void> {
    const specs = new Map<string, FunctionSpec>();
    for (const d of deployments.values()) {
      for (const [name, def] of Object.entries(d.definition.functions ?? {})) {
        const queue = qualifiedFunctionName(name, functionVersion(def));
        if (!specs.has(queue)) specs.set(queue, { name, version: queue.slice(name.length + 1), queue, ...this.code(queue, def), ...defaults(def) });
      }
    }
    const added = [...specs.values()].filter((s) => !this.served.has(s.queue));
    // A version that cannot start now (Redis hiccup) is undone and tried again: the revision stays unserved.
    const results = await Promise.allSettled(
      added.map(async (spec) => {
        try {
          await this.opts.worker.serve(spec);
        } catch (err) {
          await this.opts.worker.retire(spec.queue);
          throw err;
        }
        this.served.add(spec.queue);
        this.opts.logger.info({ function: spec.queue }, 'control plane: function version served');
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const queue of specs.keys()) {
      const t = this.retiring.get(queue);
      if (t !== undefined) {
        clearTimeout(t);
        this.retiring.delete(queue);
      }
    }
    for (const queue of this.served) if (!specs.has(queue) && !this.retiring.has(queue)) this.scheduleRetire(queue);
    if (failed) throw failed.reason;
    this.revision = snapshot.revision;
  }

  /** Retires a version no deployment serves once its queues stay empty past the grace period. */
  private scheduleRetire(queue: string): void {
    const attempt = async () => {
      if (this.revisions.closed || !this.retiring.has(queue)) return;
      if (!(await this.opts.worker.idle(queue).catch(() => false))) {
        this.retiring.set(queue, setTimeout(() => void attempt(), this.revisions.pollMs));
        return;
      }
      this.retiring.delete(queue);
      this.served.delete(queue);
      await this.opts.worker.retire(queue);
      rmSync(join(this.codeRoot, queue), { recursive: true, force: true });
    };
    this.retiring.set(queue, setTimeout(() => void attempt(), 2 * this.revisions.pollMs));
  }

  /** Writes a version's module to its own directory (its LAMBDA_TASK_ROOT); a version never changes. */
  private code(queue: string, def: DeployedFunctionConfig): Pick<FunctionSpec, 'modulePath' | 'exportName' | 'root'> {
    const root = join(this.codeRoot, queue);
    const modulePath = join(root, def.format === 'cjs' ? 'index.cjs' : 'index.mjs');
    mkdirSync(root, { recursive: true });
    writeFileSync(modulePath, def.code);
    return { modulePath, exportName: def.handler, root };
  }
}
