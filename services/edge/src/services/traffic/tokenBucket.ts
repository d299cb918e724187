import type { ThrottleLimits } from '@turnpike/redis';
import { LocalLease, type LeaseFn } from './leaseBucket.js';

/** Lease about this much of a second's rate at a time: small enough to strand little, big enough to batch. */
const LEASE_WINDOW_S = 0.05;
const MAX_LEASE = 1_000;
/** Unspent tokens go back to the shared bucket after this long, which bounds how stale a node's slice is. */
export const TOKEN_LEASE_TTL_MS = 1_000;

/** How many tokens a node leases at once from a bucket with these limits. */
export function tokensPerLease(l: ThrottleLimits): number {
  return Math.max(1, Math.min(Math.ceil(l.rateLimit * LEASE_WINDOW_S), Math.floor(l.burstLimit / 4), MAX_LEASE));
}

/**
 * One throttling level on one node: a named token bucket in Redis (`throttle-lease-1.lua`) and this
 * node's lease of it. Limits are fixed for the bucket's life; the header values that never change are
 * formatted once.
 */
export class TokenBucket extends LocalLease {
  readonly limitHeader: string;

  constructor(
    /** Names the level in logs (`gateway`, `stage:api/prod`, `route:...`, `ip:...`, `plan:...`). */
    readonly name: string,
    readonly limits: ThrottleLimits,
    leaseFn: LeaseFn,
  ) {
    super(leaseFn, tokensPerLease(limits), TOKEN_LEASE_TTL_MS, limits.burstLimit);
    this.limitHeader = String(limits.burstLimit);
  }

  /** Seconds until the bucket is full again, from `remaining` tokens. */
  resetSeconds(remaining: number): number {
    const missing = this.limits.burstLimit - remaining;
    return missing <= 0 ? 0 : Math.ceil(missing / this.limits.rateLimit);
  }
}
