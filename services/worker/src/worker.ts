import { availableParallelism } from 'node:os';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import pino, { type Logger } from 'pino';
import type { TurnpikeConfig } from '@turnpike/config';
import { connectRedis, duplicateRedis, NodeHeartbeat, NodeHeartbeats, RedisKeys, type RedisClient } from '@turnpike/redis';
import { randomUUID } from 'node:crypto';
import {
  ASYNC_JOB,
  FUNCTION_QUEUE_OPTIONS,
  decodeSyncJob,
  encodeReply,
  functionQueueKey,
  functionQueueName,
  functionQueuePrefix,
  type InvocationJob,
} from '@turnpike/codec';
import { deadLetterData, expireDeadLetters } from './dlq.js';
import { loadFunctions, type FunctionSpec } from './registry.js';
import { ReplySender } from './replySender.js';
import { HostPool, type Outcome } from './sandbox/hostPool.js';
import { hostLauncher } from './sandbox/hostLauncher.js';
import { SyncLane } from './syncLane.js';
import { DeployedFunctions } from './deployedFunctions.js';

export interface FunctionWorkerOptions {
  readonly config: TurnpikeConfig;
  /** Every module in this directory becomes a function named after its file. */
  readonly functionsDir?: string;
  readonly redisUrl?: string;
  readonly keyPrefix?: string;
  /** Invocations of one function this worker runs at once (each in its own host process). */
  readonly concurrency?: number;
  /**
   * How long a job's lock lasts without renewal; a worker that died mid-job has its jobs picked up by
   * another worker after about this long (BullMQ's stalled-job check runs at the same interval).
   */
  readonly lockDurationMs?: number;
  /**
   * Also run the functions of the control plane's deployments (docs/functions.md, "Functions in
   * deployments"), following every deploy without a restart; pollMs as the edge's (default 2 s).
   * `gateway.control.enabled` in the config does the same.
   */
  readonly control?: { pollMs?: number };
  readonly logger?: Logger;
}

const JOBS_PER_HOST = 8;

/** One function (version) this worker serves: its hosts, and the two lanes feeding them. */
interface Served {
  readonly spec: FunctionSpec;
  readonly pool: HostPool;
  readonly queue: Queue;
  readonly worker: Worker;
  readonly lane: SyncLane;
  readonly sweep: NodeJS.Timeout;
}

/**
 * A function worker: consumes the queues of the functions it serves and runs each invocation in that
 * function's pool of host processes. Per function, two lanes feed the pool (docs/functions.md): the sync
 * list (sync invocations of functions without a cluster-wide limit) and the BullMQ queue (async
 * invocations, and sync ones of limited functions). Sync results go straight to the asking edge node's
 * reply list; failed async jobs are retried by BullMQ with the function's backoff, then stay in the
 * queue's failed set (the dead-letter queue). Several workers on any number of machines share the queues.
 * With `control`, the functions deployed through the control plane come and go while it runs
 * (deployedFunctions.ts calls serve and retire).
 */
export class FunctionWorker {
  readonly logger: Logger;
  /** The functions of the worker's own config and --functions directory. */
  readonly configured: readonly FunctionSpec[];
  readonly concurrency: number;
  private readonly connection: RedisClient;
  /**
   * BullMQ's own: it defines its ~50 scripts on the client it is given, and ioredis copies every script a
   * client defines onto each auto-pipeline it builds (one per event-loop turn that sends commands), which
   * made each batch of replies on a shared client cost ~100 property copies.
   */
  private readonly queueConnection: RedisClient;
  private readonly replies: ReplySender;
  /** By queue (the function's name, or `name@version` for a deployed one). */
  private readonly served = new Map<string, Served>();
  private readonly keyPrefix: string;
  private readonly prefix: string;
  private readonly lockDuration: number;
  private readonly launcher = hostLauncher();
  private heartbeat: NodeHeartbeat | null = null;
  private deployed: DeployedFunctions | null = null;

  constructor(private readonly options: FunctionWorkerOptions) {
    const { config } = options;
    this.logger = options.logger ?? pino({ name: 'turnpike-worker' });
    this.configured = loadFunctions(config, options.functionsDir);
    this.concurrency = options.concurrency ?? availableParallelism() * 2;
    const endpoint = { ...config.gateway.redis, url: options.redisUrl ?? config.gateway.redis.url };
    this.keyPrefix = options.keyPrefix ?? config.gateway.redis.keyPrefix;
    this.prefix = functionQueuePrefix(this.keyPrefix);
    this.lockDuration = options.lockDurationMs ?? 30_000;
    // BullMQ needs maxRetriesPerRequest null on worker connections: commands wait out a Redis restart.
    this.connection = connectRedis({ ...endpoint, name: 'turnpike-worker', maxRetriesPerRequest: null });
    this.queueConnection = duplicateRedis(this.connection, { name: 'turnpike-worker-queues' });
    this.replies = new ReplySender(this.connection, this.logger);
  }

  /** The functions served now (deployed ones by version). */
  get functions(): FunctionSpec[] {
    return [...this.served.values()].map((s) => s.spec);
  }

  async start(): Promise<this> {
    if (!this.launcher.diesWithWorker) this.logger.warn('setpriv (util-linux) not found: a function host spinning in a loop when this worker is killed will outlive it');
    await Promise.all(this.configured.map((spec) => this.serve(spec)));
    const gw = this.options.config.gateway;
    const control = this.options.control ?? (gw.control.enabled ? { pollMs: gw.control.pollMs } : null);
    if (control) {
      this.deployed = await new DeployedFunctions({ redis: this.connection, keys: new RedisKeys(this.keyPrefix), worker: this, logger: this.logger, pollMs: control.pollMs }).start();
    }
    // The console's Nodes page lists workers from this record; a worker has no management listener.
    const state = async () => ({
      revision: this.deployed?.revision ?? -1,
      connections: 0,
      ready: true,
      readiness: `${this.served.size} function(s), concurrency ${this.concurrency}`,
    });
    const onError = (err: unknown) => this.logger.warn({ err }, 'node heartbeat failed; retrying on the next one');
    this.heartbeat = new NodeHeartbeat(new NodeHeartbeats(this.connection, new RedisKeys(this.keyPrefix)), { id: randomUUID(), kind: 'worker', managementUrl: null }, state, 2_000, onError).start();
    this.logger.info({ functions: this.functions.map((f) => f.queue), concurrency: this.concurrency }, 'worker ready');
    return this;
  }

  /** Starts serving a function: its hosts (one warm), its BullMQ worker and its sync lane. */
  async serve(spec: FunctionSpec): Promise<void> {
    if (this.served.has(spec.queue)) return;
    const { gateway } = this.options.config;
    const lockDuration = this.lockDuration;
    const hosts = Math.min(this.concurrency, spec.concurrency ?? Infinity);
    const pool = new HostPool(spec, { region: gateway.region, accountId: gateway.accountId, logger: this.logger, launcher: this.launcher }, hosts);
    const queueName = functionQueueName(spec.queue);
    // The cluster-wide limit lives on the queue, so every worker of the cluster obeys the same one.
    const queue = new Queue(queueName, { ...FUNCTION_QUEUE_OPTIONS, connection: this.queueConnection, prefix: this.prefix });
    try {
      if (spec.concurrency !== undefined) await queue.setGlobalConcurrency(spec.concurrency);
      else await queue.removeGlobalConcurrency();
    } catch (err) {
      await queue.close();
      throw err;
    }
    const worker = new Worker(queueName, (job: Job<InvocationJob>) => this.process(spec, pool, job), {
      connection: this.queueConnection,
      prefix: this.prefix,
      // More jobs in flight than hosts: a job's Redis round trips (fetch, reply, complete) overlap other
      // jobs' handlers instead of leaving a host idle; the extra jobs wait for a host in the pool.
      concurrency: hosts * JOBS_PER_HOST,
      lockDuration,
      stalledInterval: lockDuration,
      maxStalledCount: 1,
      autorun: false,
      settings: { backoffStrategy: (attemptsMade) => spec.retryBackoffMs * 2 ** Math.max(0, attemptsMade - 1) },
    });
    worker.on('error', (err) => this.logger.warn({ err, function: spec.queue }, 'function queue error'));
    worker.on('failed', (job, err) => {
      if (job && job.name === ASYNC_JOB) {
        const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError;
        this.logger.warn({ function: spec.queue, requestId: job.data.id, jobId: job.id, attempt: job.attemptsMade, err: err.message }, final ? 'async invocation failed; kept in the dead-letter queue' : 'async invocation failed; will retry');
        // BullMQ fails a job that stalled too often without running it here: redact that one now.
        if (final && job.data.x !== 1) job.updateData(deadLetterData(job.data)).catch((e: unknown) => this.logger.warn({ err: e, function: spec.queue, jobId: job.id }, 'could not redact a dead letter'));
      }
    });
    // The blocking BLMPOP needs a connection of its own.
    const reader = duplicateRedis(this.connection, { name: 'turnpike-worker-sync', enableAutoPipelining: false });
    const lane = new SyncLane(functionQueueKey(this.keyPrefix, spec.queue, 'sync'), hosts * JOBS_PER_HOST, hosts, reader, (job) => this.runSync(spec, pool, job), this.logger);
    this.served.set(spec.queue, { spec, pool, queue, worker, lane, sweep: this.scheduleSweeps(spec, queue) });
    await pool.warm();
    void worker.run().catch((err: unknown) => this.logger.error({ err }, 'function worker stopped'));
    await Promise.all([worker.waitUntilReady(), lane.start()]);
  }

  /** True when no invocation of the function waits in its queues or runs (a retired version may stop). */
  async idle(queue: string): Promise<boolean> {
    const s = this.served.get(queue);
    if (!s) return true;
    const [waiting, counts] = await Promise.all([this.connection.llen(functionQueueKey(this.keyPrefix, queue, 'sync')), s.queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children')]);
    return waiting === 0 && Object.values(counts).every((n) => n === 0);
  }

  /** Stops serving a function: takes no more of its invocations, lets those running finish, stops its hosts. */
  async retire(queue: string): Promise<void> {
    const s = this.served.get(queue);
    if (!s) return;
    this.served.delete(queue);
    await this.stopServed(s);
    this.logger.info({ function: queue }, 'function retired');
  }

  private async stopServed(s: Served): Promise<void> {
    clearInterval(s.sweep);
    await Promise.all([s.lane.stop(this.connection), s.worker.close(), s.queue.close()]);
    s.pool.close();
  }

  /**
   * Dead letters older than the function's retention are removed now and then every
   * min(retention, 1 h), by every worker (removing is idempotent), so one is never kept more than an hour
   * past its retention while any worker runs.
   */
  private scheduleSweeps(spec: FunctionSpec, queue: Queue): NodeJS.Timeout {
    const sweep = () =>
      void expireDeadLetters(queue, spec.deadLetterRetentionMs).then(
        (removed) => removed > 0 && this.logger.info({ function: spec.queue, removed }, 'expired dead letters removed'),
        (err: unknown) => this.logger.warn({ err, function: spec.queue }, 'dead-letter sweep failed; will try again'),
      );
    sweep();
    return setInterval(sweep, Math.min(spec.deadLetterRetentionMs, 3_600_000)).unref();
  }

  /** Graceful stop: take no new jobs, let running invocations finish, then stop the host processes. */
  async stop(): Promise<void> {
    await this.deployed?.close();
    await this.heartbeat?.stop();
    const served = [...this.served.values()];
    this.served.clear();
    await Promise.all(served.map((s) => this.stopServed(s)));
    this.deployed?.removeCode();
    await this.replies.drain();
    this.queueConnection.disconnect();
    this.connection.disconnect();
    this.logger.info('worker stopped');
  }

  /** A job of the sync lane. */
  private async runSync(spec: FunctionSpec, pool: HostPool, buf: Buffer): Promise<void> {
    let job;
    try {
      job = decodeSyncJob(buf);
    } catch (err) {
      this.logger.error({ err, function: spec.queue }, 'dropped a malformed sync invocation');
      return;
    }
    await this.invokeSync(spec, pool, job.d, job.r, job.s, job.e, job.t, job.id);
  }

  /** Runs a sync invocation (from either lane) and replies to the edge that waits for it. */
  private async invokeSync(spec: FunctionSpec, pool: HostPool, deadline: number, replyKey: string, seq: number, event: string, traceparent: string | null, requestId: string): Promise<void> {
    // Nobody waits for a sync result past its deadline (a backlog, or a job back from a dead worker).
    if (Date.now() > deadline) return;
    // Whatever goes wrong here, the waiting edge gets an answer rather than its timeout.
    const outcome = await pool.run({ event, traceparent, requestId }).catch((err: unknown): Outcome => ({ status: 'crash', payload: `the worker could not run the function: ${(err as Error).message}`, errorType: 'Runtime.WorkerError' }));
    if (outcome.status !== 'ok') this.logFailure(spec, requestId, outcome);
    this.replies.send(replyKey, encodeReply({ seq, status: outcome.status, payload: outcome.payload, errorType: outcome.errorType }));
  }

  private async process(spec: FunctionSpec, pool: HostPool, job: Job<InvocationJob>): Promise<void> {
    const data = job.data;
    if (job.name !== ASYNC_JOB) {
      if (data.r !== undefined && data.s !== undefined) await this.invokeSync(spec, pool, data.d ?? Infinity, data.r, data.s, eventJson(data), data.t ?? null, data.id);
      return;
    }
    const outcome = await pool.run({ event: eventJson(data), traceparent: data.t ?? null, requestId: data.id });
    if (outcome.status === 'ok') return;
    this.logFailure(spec, data.id, outcome);
    const reason = `${outcome.errorType ?? outcome.status}: ${outcome.payload}`;
    // attemptsMade counts the attempts that failed before this one.
    if (job.attemptsMade >= spec.maxRetries) {
      // Nothing runs it again unless an operator replays it: the caller's credentials go before it rests.
      await job.updateData(deadLetterData(data));
      throw new UnrecoverableError(reason);
    }
    throw new Error(reason);
  }

  private logFailure(spec: FunctionSpec, requestId: string, o: Outcome): void {
    this.logger.warn({ function: spec.queue, requestId, status: o.status, errorType: o.errorType }, `invocation failed: ${o.payload}`);
  }
}

/** A BullMQ job's event, as the host takes it (BullMQ has parsed the job's JSON already). */
function eventJson(data: InvocationJob): string {
  return JSON.stringify(data.e) ?? 'null';
}
