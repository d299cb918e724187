import { encode, decode } from './msgpack.js';

/**
 * The wire format of a function invocation, shared by the edge (producer) and the workers (consumers).
 *
 * Jobs go through BullMQ, which stores job data as JSON text: binary job data is not possible, so the
 * job is a small JSON object whose field names are one letter. Replies do not go through BullMQ: the
 * worker pushes a msgpackr array on the asking edge node's own reply list (docs/functions.md).
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
  if (!Array.isArray(v) || typeof v[0] !== 'number' || typeof v[2] !== 'string' || REPLY_STATUS[v[1] as number] === undefined) {
    throw new Error('malformed function reply');
  }
  return { seq: v[0], status: REPLY_STATUS[v[1] as number]!, payload: v[2], errorType: typeof v[3] === 'string' ? v[3] : null };
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
/** The inverse of functionQueueName, for tools listing queues; null for a key that is not a function queue. */
export function functionOfQueue(queueName: string): string | null {
  return /^\{([A-Za-z0-9_-]{1,64})\}$/.exec(queueName)?.[1] ?? null;
}

/**
 * A function reference as callers write it: a name, or a Lambda ARN (`arn:aws:lambda:REGION:ACCT:function:NAME[:QUALIFIER]`)
 * or API Gateway's invocation URI for one (`arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/<lambda arn>/invocations`).
 * Returns the function name, or null when the reference names no function.
 */
export function functionNameOf(ref: string): string | null {
  const m = /(?:^|:)function:([A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9_$-]+)?(?:\/invocations)?$/.exec(ref);
  if (m) return m[1]!;
  return /^[A-Za-z0-9_-]{1,64}$/.test(ref) ? ref : null;
}
