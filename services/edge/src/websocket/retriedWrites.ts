import type { Logger } from 'pino';

export type RegistryWrite = 'register' | 'unregister';

/** First retry after this long, doubling up to the cap: a Redis restart is usually over in seconds. */
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 2_000;
/**
 * At most one log line per this window for failing writes, and one for writes that landed after retries,
 * with the counts since the previous line: a connect storm against a Redis that times out fails thousands
 * of writes (a million-connection run logged 13,216 warnings, one per write). Metrics count every attempt.
 */
export const REPORT_WINDOW_MS = 10_000;

/**
 * Registry writes that must land: each is retried with a bounded exponential backoff (with jitter, so
 * a node's connections do not retry in lockstep after an outage) while it still matters, and every
 * failed attempt is counted. The edge's Redis client fails fast while disconnected, so an attempt
 * during an outage costs one rejected promise, not a queued command.
 */
export class RetriedWrites {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly failing = new LogWindow();
  private readonly recovered = new LogWindow();

  constructor(
    private readonly logger: Logger,
    private readonly onFailure: (op: RegistryWrite) => void,
  ) {}

  /** Runs `write` until it resolves, or until `wanted()` turns false or the registry stops. */
  run(op: RegistryWrite, connectionId: string, wanted: () => boolean, write: () => Promise<unknown>, attempt = 0): void {
    write().then(
      () => {
        if (attempt === 0) return;
        const writes = this.recovered.due();
        if (writes > 0) this.logger.info({ connectionId, op, attempts: attempt + 1, writes }, 'websocket registry: writes landed after retries (count since the last such line)');
      },
      (err: unknown) => {
        this.onFailure(op);
        // Counted per write, not per attempt; logged once per window with the count.
        if (attempt === 0) {
          const writes = this.failing.due();
          if (writes > 0) this.logger.warn({ err, connectionId, op, writes }, 'websocket registry: writes failed (count since the last such line); retrying each until it lands');
        }
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

/** Counts events and says when one should be logged: the first, then at most one per REPORT_WINDOW_MS. */
class LogWindow {
  private count = 0;
  private lastAt = -Infinity;

  /** Counts one event; returns how many to report now (this one included), or 0 to stay quiet. */
  due(now = Date.now()): number {
    this.count++;
    if (now - this.lastAt < REPORT_WINDOW_MS) return 0;
    const n = this.count;
    this.count = 0;
    this.lastAt = now;
    return n;
  }
}
