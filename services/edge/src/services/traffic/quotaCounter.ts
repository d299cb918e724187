import { quotaPeriod, type QuotaPeriod, type QuotaSettings } from '@turnpike/redis';
import { LocalLease, type LeaseFn } from './leaseBucket.js';

const QUOTA_LEASE_TTL_MS = 10_000;

/** Requests a node leases at once: at most 0.5% of the quota, so N nodes strand at most N × 0.5%. */
export function quotaPerLease(limit: number): number {
  return Math.max(1, Math.min(Math.floor(limit / 200), 1_000));
}

/**
 * A usage plan's quota for one key on one node. Each period has its own Redis counter (the key names
 * the period), so a period rolls over by itself: the first request after the boundary starts a fresh
 * lease against the new counter, and the old counter expires.
 */
export class QuotaCounter {
  private period: QuotaPeriod | null = null;
  private lease: LocalLease | null = null;
  lastUsed = 0;

  constructor(
    readonly quota: QuotaSettings,
    private readonly leaseFor: (period: QuotaPeriod) => LeaseFn,
  ) {}

  /** The lease of the period containing `now`. */
  current(now: number): LocalLease {
    this.lastUsed = now;
    const p = this.period;
    if (p === null || now >= p.endsAt || now < p.startsAt || this.lease === null) {
      const period = quotaPeriod(this.quota.period, now);
      this.period = period;
      this.lease = new LocalLease(this.leaseFor(period), quotaPerLease(this.quota.limit), QUOTA_LEASE_TTL_MS, this.quota.limit);
    }
    return this.lease;
  }
}
