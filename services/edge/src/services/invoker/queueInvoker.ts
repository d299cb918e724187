import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { JobsOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { connectRedis, duplicateRedis, isCluster, whenConnected, RedisKeys, type RedisClient, type RedisEndpoint } from '@turnpike/redis';
import {
  ASYNC_JOB,
  FUNCTION_QUEUE_OPTIONS,
  SYNC_JOB,
  decodeReply,
  encodeSyncJob,
  functionNameOf,
  functionQueueKey,
  functionQueueName,
  functionQueuePrefix,
  type InvocationJob,
} from '@turnpike/codec';
import { RedisGuard, type RedisBound } from '../../redis/redisGuard.js';
import { FunctionInvokeError, type FunctionInvoker, type InvokeOptions } from './invoker.js';

export interface QueueInvokerOptions {
  readonly redis: RedisEndpoint;
  readonly keyPrefix: string;
  readonly logger: Logger;
  /**
   * gateway.redis.timeoutMs: the longest an enqueue waits on Redis; invocations already queued give up
   * (503) once a reply read has gone unanswered this long past its block time.
   */
  readonly timeoutMs: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: FunctionInvokeError): void;
  timer: NodeJS.Timeout;
}

/** One function as this node calls it: its BullMQ queue, and the sync invocations not sent yet. */
interface FunctionLane {
  readonly name: string;
  /** Made once BullMQ has loaded (see QueueFunctionInvoker.bullmq). */
  readonly queue: Promise<Queue>;
  readonly syncKey: string;
  readonly metaKey: string;
  batch: Array<{ job: InvocationJob & { r: string; s: number; d: number }; encoded: Buffer }>;
  /** Script calls not answered yet: while there is one, invocations wait for it and leave together. */
  sending: number;
}

interface EnqueueCommands {
  tpFunctionEnqueue(syncKey: string, metaKey: string, ttlMs: number, ...jobs: Buffer[]): Promise<number>;
}

/** Invocations per script call (Lua's unpack has a stack limit in the thousands). */
const MAX_BATCH = 512;
/** How long one reply read blocks on an empty list. */
const REPLY_BLOCK_S = 1;
/** The sync list of a function nobody calls any more expires: no sync invocation waits longer than this. */
const SYNC_LIST_TTL_MS = 60_000;

// Sync jobs leave nothing behind: the result travels on the reply list, not in the job.
const SYNC_OPTS: JobsOptions = { attempts: 1, removeOnComplete: true, removeOnFail: true };
// Lambda retries a failed asynchronous invocation at most twice; the worker's backoff strategy applies the
// function's own maxRetries and retryBackoffMs, so the edge needs no function config. Failed jobs stay in
// the queue's failed set: that set is the dead-letter queue (`turnpike dlq`).
const ASYNC_OPTS: JobsOptions = { attempts: 3, backoff: { type: 'function' }, removeOnComplete: true, removeOnFail: { count: 100_000 } };

/**
 * The FunctionInvoker of an edge node. A sync invocation goes on the function's sync list (the invocations
 * of one event-loop turn in one script call, function-enqueue-2.lua), or, for a function with a
 * cluster-wide concurrency limit, which the script detects, as a BullMQ job on the function's queue; an
 * async invocation is always a BullMQ job (retries, dead letters). The worker that ran a sync invocation
 * pushes the result on this node's own reply list (`<prefix>:reply:{nodeId}`), which one blocking
 * connection drains in batches. No node ever sees another node's results, so the reply cost does not grow
 * with the number of edge nodes (which BullMQ's QueueEvents broadcast would).
 *
 * Connections open on the first invocation: an edge whose routes never call a function pays nothing.
 * Every enqueue is bounded by the connection's RedisGuard: with Redis down or hung an invocation fails
 * `unavailable` (503) within `timeoutMs`, at once while the connection is known to be down.
 */
export class QueueFunctionInvoker implements FunctionInvoker {
  readonly nodeId = randomUUID();
  readonly replyKey: string;
  private readonly queuePrefix: string;
  private readonly lanes = new Map<string, FunctionLane>();
  /** Lanes whose sync invocations leave at the end of this event-loop turn. */
  private readonly toFlush: FunctionLane[] = [];
  private flushScheduled = false;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private conn: (RedisClient & EnqueueCommands) | null = null;
  private enqueue: RedisBound | null = null;
  private replicaAck: RedisBound | null = null;
  private reader: RedisClient | null = null;
  /**
   * BullMQ's own client: it defines its ~50 scripts on the client it is given, and ioredis copies every
   * script a client defines onto each auto-pipeline it builds (one per event-loop turn that enqueues).
   */
  private queueConn: RedisClient | null = null;
  /**
   * BullMQ, loaded with the first lane rather than with the edge: an edge whose routes never call a
   * function (a WebSocket-only node) does not hold its modules (~3 MB of heap per process).
   */
  private bullmq: Promise<typeof import('bullmq')> | null = null;
  private readLoop: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: QueueInvokerOptions) {
    this.replyKey = new RedisKeys(options.keyPrefix).tagged('reply', this.nodeId);
    this.queuePrefix = functionQueuePrefix(options.keyPrefix);
  }

  invoke(functionRef: string, event: unknown, opts: InvokeOptions): Promise<unknown> {
    const lane = this.laneFor(functionRef);
    if (typeof lane === 'string') return Promise.reject(new FunctionInvokeError('unavailable', lane));
    const seq = ++this.seq;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new FunctionInvokeError('integration_timeout', `${lane.name}: no result within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      this.pending.set(seq, { resolve, reject, timer });
      const job = { e: event, id: opts.requestId, r: this.replyKey, s: seq, d: Date.now() + opts.timeoutMs, ...(opts.traceparent ? { t: opts.traceparent } : {}) };
      const encoded = encodeSyncJob({ id: job.id, r: job.r, s: seq, d: job.d, t: opts.traceparent ?? null, e: JSON.stringify(event) ?? 'null' });
      if (lane.batch.push({ job, encoded }) === 1 && lane.sending === 0) this.scheduleFlush(lane);
    });
  }

  private scheduleFlush(lane: FunctionLane): void {
    this.toFlush.push(lane);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  async invokeAsync(functionRef: string, event: unknown, opts: InvokeOptions): Promise<void> {
    const lane = this.laneFor(functionRef);
    if (typeof lane === 'string') throw new FunctionInvokeError('unavailable', lane);
    const job: InvocationJob = {
      e: event,
      id: opts.requestId,
      ...(opts.traceparent ? { t: opts.traceparent } : {}),
      ...(opts.credentials ? { c: [opts.credentials.headers, opts.credentials.query] as const } : {}),
    };
    try {
      // The queue is awaited outside the Redis bound: loading BullMQ the first time is not Redis's delay.
      const queue = await lane.queue;
      await this.enqueue!.call(() => queue.add(ASYNC_JOB, job, ASYNC_OPTS));
    } catch (err) {
      throw new FunctionInvokeError('unavailable', `${functionRef}: cannot queue the invocation: ${(err as Error).message}`);
    }
    const ack = this.options.redis.replicaAck;
    if (ack !== undefined && !isCluster(this.conn!)) {
      // WAIT covers every write its connection made before it: on BullMQ's, the job's included.
      // Bounded like the enqueue, with a breaker of its own: replicas lagging must not refuse enqueues.
      const conn = this.queueConn!;
      const held = await this.replicaAck!.call(() => conn.wait(ack.replicas, ack.timeoutMs)).catch(() => 0);
      if (held < ack.replicas) throw new FunctionInvokeError('unavailable', `${functionRef}: the invocation reached ${held} of ${ack.replicas} Redis replicas in ${ack.timeoutMs} ms; it may or may not run`);
    }
  }

  /**
   * Opens the invocation connections now instead of at the first invocation, and resolves once they take
   * commands (see whenConnected): an edge that serves function routes is ready when its first call can
   * be queued. False when Redis did not answer within `timeoutMs`.
   */
  async connect(timeoutMs: number): Promise<boolean> {
    this.start();
    const connected = await Promise.all([whenConnected(this.conn!, timeoutMs), whenConnected(this.queueConn!, timeoutMs)]);
    return connected.every(Boolean);
  }

  /** Stops reading replies; invocations still waiting fail as `unavailable`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [seq] of this.pending) this.settleError(seq, new FunctionInvokeError('unavailable', 'the edge node is shutting down'));
    this.reader?.disconnect();
    await this.readLoop;
    await Promise.all([...this.lanes.values()].map((l) => l.queue.then((q) => q.close()).catch(() => {})));
    this.queueConn?.disconnect();
    this.conn?.disconnect();
  }

  /** Invocations waiting for a result (tests and metrics). */
  get waiting(): number {
    return this.pending.size;
  }

  private laneFor(functionRef: string): FunctionLane | string {
    if (this.closed) return 'the edge node is shutting down';
    let lane = this.lanes.get(functionRef);
    if (lane !== undefined) return lane;
    const name = functionNameOf(functionRef);
    if (name === null) return `"${functionRef}" names no function (a name, a Lambda ARN or an API Gateway invocation URI)`;
    this.start();
    const connection = this.queueConn!;
    const queue = (this.bullmq ??= import('bullmq')).then(({ Queue }) => {
      const q = new Queue(functionQueueName(name), { ...FUNCTION_QUEUE_OPTIONS, connection, prefix: this.queuePrefix });
      q.on('error', (err) => this.options.logger.warn({ err, function: name }, 'function queue error'));
      return q;
    });
    const { keyPrefix } = this.options;
    lane = { name, queue, syncKey: functionQueueKey(keyPrefix, name, 'sync'), metaKey: functionQueueKey(keyPrefix, name, 'meta'), batch: [], sending: 0 };
    this.lanes.set(functionRef, lane);
    return lane;
  }

  /**
   * Sends the sync invocations queued since the last call: one script call per function (per MAX_BATCH
   * invocations). A function's next call waits for the answer to its previous one, so under load the
   * batches grow with Redis's latency (Nagle's algorithm) instead of costing a round trip each.
   */
  private flush(): void {
    if (this.closed) return;
    const conn = this.conn!;
    const enqueue = this.enqueue!;
    this.flushScheduled = false;
    for (const lane of this.toFlush.splice(0)) {
      const batch = lane.batch;
      lane.batch = [];
      for (let i = 0; i < batch.length; i += MAX_BATCH) {
        const part = batch.length <= MAX_BATCH ? batch : batch.slice(i, i + MAX_BATCH);
        lane.sending++;
        // A batch that times out may still reach the list later; its jobs carry their deadline (`d`), so
        // the worker drops them unrun and nobody waits for their replies.
        enqueue.call(() => conn.tpFunctionEnqueue(lane.syncKey, lane.metaKey, SYNC_LIST_TTL_MS, ...part.map((p) => p.encoded))).then(
          (queued) => {
            this.sent(lane);
            // The function has a cluster-wide concurrency limit, which only its BullMQ queue enforces.
            if (queued === 0) {
              for (const { job } of part) lane.queue.then((queue) => enqueue.call(() => queue.add(SYNC_JOB, job, SYNC_OPTS))).catch((err: unknown) => this.cannotQueue(lane, job.s, err));
            }
          },
          (err: unknown) => {
            this.sent(lane);
            for (const { job } of part) this.cannotQueue(lane, job.s, err);
          },
        );
      }
    }
  }

  private sent(lane: FunctionLane): void {
    if (--lane.sending === 0 && lane.batch.length > 0 && !this.closed) this.scheduleFlush(lane);
  }

  private cannotQueue(lane: FunctionLane, seq: number, err: unknown): void {
    this.settleError(seq, new FunctionInvokeError('unavailable', `${lane.name}: cannot queue the invocation: ${(err as Error).message}`));
  }

  private start(): void {
    if (this.conn !== null) return;
    // Fail fast: an invocation while Redis is down answers at once instead of queueing in memory.
    this.conn = connectRedis({ ...this.options.redis, name: 'turnpike-edge-functions', failFast: true, requestTimeoutMs: this.options.timeoutMs }) as RedisClient & EnqueueCommands;
    const guard = RedisGuard.of(this.conn, this.options.logger);
    this.enqueue = guard.bound('function enqueue');
    this.replicaAck = guard.bound('function replica ack');
    this.conn.defineCommand('tpFunctionEnqueue', {
      numberOfKeys: 2,
      lua: readFileSync(createRequire(import.meta.url).resolve('@turnpike/redis/scripts/function-enqueue-2.lua'), 'utf8'),
    });
    this.queueConn = duplicateRedis(this.conn, { name: 'turnpike-edge-queues' });
    // The blocking reader waits out a Redis restart (no command timeout: BLMPOP blocks), and has nothing to pipeline.
    this.reader = duplicateRedis(this.conn, { name: 'turnpike-edge-replies', enableOfflineQueue: true, maxRetriesPerRequest: null, enableAutoPipelining: false, blocking: true });
    this.readLoop = this.readReplies(this.reader);
  }

  /**
   * The reply read got no answer within its block time plus the Redis bound: Redis is down or hung, and
   * no result can arrive. Invocations already queued fail `unavailable` (503) now instead of each waiting
   * out its integration timeout; a Redis back within the bound (a failover, a quick restart) loses none.
   */
  private repliesOverdue(): void {
    if (this.pending.size === 0) return;
    const err = new FunctionInvokeError('unavailable', `redis did not answer the reply read within ${REPLY_BLOCK_S * 1000 + this.options.timeoutMs} ms: the result cannot arrive`);
    this.options.logger.warn({ event: 'function_replies_overdue', invocations: this.pending.size }, 'function invocations abandoned: redis is not answering the reply connection');
    for (const [seq] of this.pending) this.settleError(seq, err);
  }

  private async readReplies(reader: RedisClient): Promise<void> {
    while (!this.closed) {
      let res: [Buffer, Buffer[]] | null;
      // Re-armed while the read stays unanswered: invocations queued meanwhile get the same bound. Like
      // RedisBound, it decides one I/O turn late, so an event-loop stall is not taken for a silent Redis.
      let answered = false;
      const overdue = () => {
        if (answered) return;
        this.repliesOverdue();
        watchdog = setTimeout(() => setImmediate(overdue), this.options.timeoutMs);
      };
      let watchdog = setTimeout(() => setImmediate(overdue), REPLY_BLOCK_S * 1000 + this.options.timeoutMs);
      try {
        // Up to 512 replies per round trip; the block only bounds how long a quiet loop sleeps.
        res = await reader.blmpopBuffer(REPLY_BLOCK_S, 1, this.replyKey, 'RIGHT', 'COUNT', 512);
      } catch (err) {
        if (this.closed) return;
        this.options.logger.warn({ err }, 'reading function replies failed; retrying');
        await new Promise((r) => setTimeout(r, 200));
        continue;
      } finally {
        answered = true;
        clearTimeout(watchdog);
      }
      if (res !== null) for (const msg of res[1]) this.deliver(msg);
    }
  }

  private deliver(msg: Buffer): void {
    let reply;
    try {
      reply = decodeReply(msg);
    } catch (err) {
      this.options.logger.error({ err }, 'dropped a malformed function reply');
      return;
    }
    const p = this.pending.get(reply.seq);
    // No one waiting: the caller timed out already (the integration timeout is shorter than the function's).
    if (p === undefined) return;
    this.pending.delete(reply.seq);
    clearTimeout(p.timer);
    if (reply.status !== 'ok') {
      p.reject(new FunctionInvokeError(reply.status, reply.payload, reply.errorType ?? undefined));
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(reply.payload);
    } catch {
      p.reject(new FunctionInvokeError('handler', 'the function result is not JSON'));
      return;
    }
    p.resolve(value);
  }

  private settleError(seq: number, err: FunctionInvokeError): void {
    const p = this.pending.get(seq);
    if (p === undefined) return;
    this.pending.delete(seq);
    clearTimeout(p.timer);
    p.reject(err);
  }
}
