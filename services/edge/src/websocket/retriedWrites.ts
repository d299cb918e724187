import type { Logger } from 'pino';

export type RegistryWrite = 'register' | 'unregister';

/** First retry after this long, doubling up to the cap: a Redis restart is usually over in seconds. */
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 2_000;

/**
 * Registry writes that must land: each is retried with a bounded exponential backoff (with jitter, so
 * a node's connections do not retry in lockstep after an outage) while it still matters, and every
 * failed attempt is counted. The edge's Redis client fails fast while disconnected, so an attempt
 * during an outage costs one rejected promise, not a queued command.
 */
export class RetriedWrites {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly logger: Logger,
    private readonly onFailure: (op: RegistryWrite) => void,
  ) {}

  /** Runs `write` until it resolves, or until `wanted()` turns false or the registry stops. */
  run(op: RegistryWrite, connectionId: string, wanted: () => boolean, write: () => Promise<unknown>, attempt = 0): void {
    write().then(
      () => {
        if (attempt > 0) this.logger.info({ connectionId, op, attempts: attempt + 1 }, 'websocket registry: write succeeded after retries');
      },
      (err: unknown) => {
        this.onFailure(op);
        // One warning per write, not per attempt: an outage would otherwise log once per connection per retry.
        if (attempt === 0) this.logger.warn({ err, connectionId, op }, 'websocket registry: write failed; retrying');
        if (this.stopped || !wanted()) return;
        const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!this.stopped && wanted()) this.run(op, connectionId, wanted, write, attempt + 1);
        }, delay);
        timer.unref();
        this.timers.add(timer);
      },
    );
  }

  /** Pending retries are dropped (the node is leaving the registry). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
