import { Queue, type Job } from 'bullmq';
import { scanKeys, type RedisClient } from '@turnpike/redis';
import { ASYNC_JOB, FUNCTION_QUEUE_OPTIONS, functionOfQueue, functionQueueName, functionQueuePrefix, redactEvent, type InvocationJob } from '@turnpike/codec';

/**
 * The dead-letter queue of asynchronous invocations: a function queue's failed set, where BullMQ leaves
 * an async job once its retries are spent (sync jobs are removed on failure: their caller got the error).
 * A dead letter keeps its event without the caller's credentials (deadLetterData) for the function's
 * `deadLetterRetentionMs` (expireDeadLetters).
 */
export interface DeadLetter {
  readonly function: string;
  readonly jobId: string;
  readonly requestId: string;
  readonly attempts: number;
  readonly failedReason: string;
  /** Epoch ms of the original invocation and of the last failure. */
  readonly queuedAt: number;
  readonly failedAt: number | null;
}

/** Functions with dead letters under this key prefix (SCAN: for tools, not the request path). */
export async function functionsWithDeadLetters(redis: RedisClient, keyPrefix: string): Promise<string[]> {
  const prefix = functionQueuePrefix(keyPrefix);
  const names = new Set<string>();
  for (const k of await scanKeys(redis, `${prefix}:{*}:failed`)) {
    const fn = functionOfQueue(k.slice(prefix.length + 1, -':failed'.length));
    if (fn !== null) names.add(fn);
  }
  return [...names].sort();
}

async function withQueue<T>(redis: RedisClient, keyPrefix: string, fn: string, use: (q: Queue) => Promise<T>): Promise<T> {
  const queue = new Queue(functionQueueName(fn), { ...FUNCTION_QUEUE_OPTIONS, connection: redis, prefix: functionQueuePrefix(keyPrefix) });
  try {
    return await use(queue);
  } finally {
    await queue.close();
  }
}

async function failedJobs(q: Queue): Promise<Job<InvocationJob>[]> {
  const jobs = (await q.getFailed(0, -1)) as Job<InvocationJob>[];
  return jobs.filter((j) => j !== undefined && j.name === ASYNC_JOB);
}

export async function listDeadLetters(redis: RedisClient, keyPrefix: string, functions?: readonly string[]): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  for (const fn of functions ?? (await functionsWithDeadLetters(redis, keyPrefix))) {
    const jobs = await withQueue(redis, keyPrefix, fn, failedJobs);
    for (const j of jobs) {
      out.push({ function: fn, jobId: String(j.id), requestId: j.data.id, attempts: j.attemptsMade, failedReason: j.failedReason, queuedAt: j.timestamp, failedAt: j.finishedOn ?? null });
    }
  }
  return out;
}

/**
 * Puts dead letters back on their queue as fresh invocations (attempts reset, so the function's retries
 * apply again). `jobIds` limits the replay to those jobs; otherwise every dead letter of the functions is
 * replayed. Resolves with the replayed jobs.
 */
export async function replayDeadLetters(redis: RedisClient, keyPrefix: string, functions?: readonly string[], jobIds?: readonly string[]): Promise<DeadLetter[]> {
  const wanted = jobIds && jobIds.length ? new Set(jobIds) : null;
  const replayed: DeadLetter[] = [];
  for (const fn of functions ?? (await functionsWithDeadLetters(redis, keyPrefix))) {
    await withQueue(redis, keyPrefix, fn, async (q) => {
      for (const j of await failedJobs(q)) {
        if (wanted && !wanted.has(String(j.id))) continue;
        const letter: DeadLetter = { function: fn, jobId: String(j.id), requestId: j.data.id, attempts: j.attemptsMade, failedReason: j.failedReason, queuedAt: j.timestamp, failedAt: j.finishedOn ?? null };
        await j.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        replayed.push(letter);
      }
    });
  }
  return replayed;
}

/** A dead letter's job data: the event with its credentials redacted (@turnpike/codec redact.ts), marked so. */
export function deadLetterData(data: InvocationJob): InvocationJob {
  const credentials = data.c ? { headers: data.c[0], query: data.c[1] } : undefined;
  return { ...data, e: redactEvent(data.e, credentials), x: 1 };
}

/** Removes the dead letters of the queue's function that failed more than `maxAgeMs` ago; resolves with how many. */
export async function expireDeadLetters(queue: Queue, maxAgeMs: number): Promise<number> {
  let removed = 0;
  for (;;) {
    const batch = await queue.clean(maxAgeMs, 1000, 'failed');
    removed += batch.length;
    if (batch.length < 1000) break;
  }
  return removed;
}
