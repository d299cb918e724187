import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RedisClient } from '@turnpike/redis';
import type { Logger } from 'pino';

/** How long a node's reply list outlives its last reply (a node that died leaves nothing for long). */
const REPLY_TTL_MS = 60_000;
/** Replies per script call (Lua's unpack has a stack limit in the thousands). */
const MAX_BATCH = 512;

interface ReplyCommands {
  tpFunctionReply(key: string, ttlMs: number, ...replies: Buffer[]): Promise<number>;
}

/**
 * Sends sync results to the reply lists of the edge nodes waiting for them, in batches: while a batch is
 * on its way, the results that come meanwhile wait for its answer and then leave together, one script
 * call per node (Nagle's algorithm: an idle worker replies at once, a busy one pays a Redis round trip
 * per batch rather than per invocation). A reply that cannot be sent leaves its edge to time out.
 */
export class ReplySender {
  private readonly batches = new Map<string, Buffer[]>();
  private scheduled: NodeJS.Immediate | null = null;
  private inFlight: Promise<unknown> = Promise.resolve();
  /** Script calls not answered yet. */
  private sending = 0;
  private readonly redis: RedisClient & ReplyCommands;

  constructor(
    redis: RedisClient,
    private readonly logger: Logger,
  ) {
    this.redis = redis as RedisClient & ReplyCommands;
    this.redis.defineCommand('tpFunctionReply', {
      numberOfKeys: 1,
      lua: readFileSync(createRequire(import.meta.url).resolve('@turnpike/redis/scripts/function-reply-1.lua'), 'utf8'),
    });
  }

  send(replyKey: string, reply: Buffer): void {
    let batch = this.batches.get(replyKey);
    if (batch === undefined) this.batches.set(replyKey, (batch = []));
    batch.push(reply);
    if (this.sending === 0) this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Sends what is batched and resolves once every reply sent so far got Redis's answer. */
  drain(): Promise<unknown> {
    this.flush();
    return this.inFlight;
  }

  private flush(): void {
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.scheduled = null;
    const sent: Promise<unknown>[] = [];
    for (const [key, replies] of this.batches) {
      for (let i = 0; i < replies.length; i += MAX_BATCH) {
        this.sending++;
        sent.push(
          this.redis
            .tpFunctionReply(key, REPLY_TTL_MS, ...(replies.length <= MAX_BATCH ? replies : replies.slice(i, i + MAX_BATCH)))
            .catch((err: unknown) => this.logger.error({ err, replyKey: key, replies: replies.length }, 'could not deliver function results'))
            .finally(() => {
              if (--this.sending === 0 && this.batches.size > 0) this.flush();
            }),
        );
      }
    }
    this.batches.clear();
    if (sent.length) this.inFlight = Promise.all([this.inFlight, ...sent]);
  }
}
