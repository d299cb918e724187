import { encode, decode } from './msgpack.js';
import { FUNCTION_QUEUE_ID } from './functionRef.js';

/**
 * The wire format of a function invocation, shared by the edge (producer) and the workers (consumers).
 *
 * Async invocations (and sync ones of a function with a cluster-wide limit) go through BullMQ, which
 * stores job data as JSON text: binary job data is not possible, so the job is a small JSON object whose
 * field names are one letter. Other sync invocations go on the function's sync list as msgpackr arrays
 * (SyncJob). Replies do not go through BullMQ: the worker pushes a msgpackr array on the asking edge
 * node's own reply list (docs/functions.md).
 */

/** BullMQ job data of one invocation. */
export interface InvocationJob {
  /** The event handed to the handler. */
  readonly e: unknown;
  /** Gateway request id (the handler's `awsRequestId`). */
  readonly id: string;
  /** Sync only: the reply list key of the edge node waiting for the result. */
  readonly r?: string;
  /** Sync only: the waiting node's sequence number for this invocation. */
  readonly s?: number;
  /** Sync only: epoch ms after which nobody waits for the result; a job picked up later is skipped. */
  readonly d?: number;
  /** W3C traceparent to hand to the handler. */
  readonly t?: string;
  /** Async only: the route's own credential locations, `[headers, query parameters]` (redact.ts). */
  readonly c?: readonly [readonly string[], readonly string[]];
  /** Async only: set once the event's credentials have been redacted (a dead letter). */
  readonly x?: 1;
}

/**
 * A sync invocation on the function's sync list (docs/functions.md, "Two lanes"), which is not BullMQ's:
 * a msgpackr array whose event is its JSON text, which the worker hands to the host process untouched
 * (the host parses it once). The fields are InvocationJob's.
 */
export interface SyncJob {
  readonly id: string;
  readonly r: string;
  readonly s: number;
  readonly d: number;
  readonly t: string | null;
  /** The event as JSON text. */
  readonly e: string;
}

export function encodeSyncJob(j: SyncJob): Buffer {
  return encode([j.s, j.d, j.r, j.id, j.t, j.e]);
}

/** Throws on a message that is not a sync job (the worker logs it and drops it). */
export function decodeSyncJob(buf: Buffer | Uint8Array): SyncJob {
  const v = decode(buf);
  if (!Array.isArray(v) || typeof v[0] !== 'number' || typeof v[1] !== 'number' || typeof v[2] !== 'string' || typeof v[3] !== 'string' || typeof v[5] !== 'string') {
    throw new Error('malformed sync invocation');
  }
  return { s: v[0], d: v[1], r: v[2], id: v[3], t: typeof v[4] === 'string' ? v[4] : null, e: v[5] };
}

/** BullMQ job names: the worker tells the two kinds apart without looking into the data. */
export const SYNC_JOB = 's';
export const ASYNC_JOB = 'a';

/** Outcomes a worker reports; index in this list is what travels. */
export const REPLY_STATUS = ['ok', 'handler', 'function_timeout', 'crash'] as const;
export type ReplyStatus = (typeof REPLY_STATUS)[number];

export interface Reply {
  readonly seq: number;
  readonly status: ReplyStatus;
  /**
   * `ok`: the handler's result as JSON text (Lambda's runtime serializes results with JSON.stringify, so
   * the worker passes the text through and the edge parses it once). Otherwise the error message.
   */
  readonly payload: string;
  /** The error type the handler threw (`Error`, `Unauthorized`...), when it failed. */
  readonly errorType: string | null;
}

export function encodeReply(r: Reply): Buffer {
  return encode([r.seq, REPLY_STATUS.indexOf(r.status), r.payload, r.errorType]);
}

/** Throws on a message that is not a reply (the edge logs it and drops it). */
export function decodeReply(buf: Buffer | Uint8Array): Reply {
  const v = decode(buf);
  const status = Array.isArray(v) ? REPLY_STATUS[v[1] as number] : undefined;
  if (!Array.isArray(v) || typeof v[0] !== 'number' || typeof v[2] !== 'string' || status === undefined) {
    throw new Error('malformed function reply');
  }
  return { seq: v[0], status, payload: v[2], errorType: typeof v[3] === 'string' ? v[3] : null };
}

/**
 * Queue naming. One BullMQ queue per function (so a function's cluster-wide concurrency is the queue's
 * global concurrency); the queue name is the function name in a hash tag, so every key of one queue
 * lands in one Redis Cluster slot, as BullMQ requires.
 */
export function functionQueuePrefix(keyPrefix: string): string {
  return `${keyPrefix}:fn`;
}
export function functionQueueName(functionName: string): string {
  return `{${functionName}}`;
}
/**
 * Options every Queue of a function queue is built with (each Queue writes them to the queue's meta hash
 * on construction, so all of them must agree). No Turnpike process reads BullMQ's event stream (replies
 * travel on the edge nodes' own lists), so it is trimmed to nothing instead of keeping 10,000 entries.
 */
export const FUNCTION_QUEUE_OPTIONS = { streams: { events: { maxLen: 0 } } } as const;

/**
 * A key of a function's queue: BullMQ's own (`meta`...) or the sync list (`sync`), all in the function's
 * hash slot.
 */
export function functionQueueKey(keyPrefix: string, functionName: string, suffix: string): string {
  return `${functionQueuePrefix(keyPrefix)}:${functionQueueName(functionName)}:${suffix}`;
}

// Function names and versions live in the codec's entry without msgpack (plain.ts), for the config package.
export { FUNCTION_QUEUE_ID, qualifiedFunctionName } from './functionRef.js';

/** The inverse of functionQueueName, for tools listing queues; null for a key that is not a function queue. */
export function functionOfQueue(queueName: string): string | null {
  const m = /^\{(.+)\}$/.exec(queueName);
  return m?.[1] !== undefined && FUNCTION_QUEUE_ID.test(m[1]) ? m[1] : null;
}
