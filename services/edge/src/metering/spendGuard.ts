import type { Logger } from 'pino';
import type { BillingService } from '@turnpike/billing/core';

/**
 * Monthly spend caps (`turnpike billing account --spend-cap`): every interval this node rates the
 * month so far of each capped key and blocks the keys that reached a `block` cap; the API key stage
 * answers them 429 `Limit Exceeded`, like an exhausted quota. A cap therefore takes effect within one
 * metering flush plus one interval of the spend that reached it (docs/billing.md). Off the request path:
 * a request only looks its key up in a set, and nothing at all happens while no key has a cap.
 */
export class SpendGuard {
  private blocked: ReadonlySet<string> = new Set();
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly billing: BillingService,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  /**
   * Checks now and every interval from now on. Called once the node's Redis connection is ready (the
   * edge's start): a check made while it is still opening fails and only logs a warning.
   */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
    void this.refresh();
  }

  blocks(keyId: string): boolean {
    return this.blocked.size !== 0 && this.blocked.has(keyId);
  }

  async refresh(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const over = await this.billing.overCap();
      const next = new Set<string>();
      for (const { account, spent } of over) {
        if (account.spendCap!.action === 'block') next.add(account.keyId);
        if (!this.blocked.has(account.keyId)) this.logger.warn({ event: 'spend_cap_reached', keyId: account.keyId, spent, cap: account.spendCap }, 'API key reached its monthly spend cap');
      }
      this.blocked = next;
    } catch (err) {
      // Keep the last decision: a Redis outage neither lifts nor imposes caps.
      this.logger.warn({ err }, 'spend caps could not be checked');
    } finally {
      this.running = false;
    }
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
