/**
 * A node's local slice of a shared Redis counter (a token bucket or a quota). The node leases `want`
 * units at a time and spends them without asking Redis, so most requests decide synchronously. Every
 * unit was debited in Redis before it is spent, so all nodes together never admit more than the shared
 * counter allows; what this gives up is the other direction: units leased by one node and not yet spent
 * are unavailable to the others, at most `want + lowWater` per node (see docs/traffic.md).
 */

export const TAKEN = 0;
export const DENIED = 1;
/** Nothing leased locally: the caller must await `refill()` and try again. */
export const MISS = 2;
export type TakeResult = typeof TAKEN | typeof DENIED | typeof MISS;

export interface LeaseGrant {
  granted: number;
  /** Whole units left in the shared counter after this grant. */
  remaining: number;
  /** When nothing was granted: how long until asking again can succeed. */
  retryAfterMs: number;
}

/** Asks Redis for `want` units, handing back `returned` unspent units of an expired lease. */
export type LeaseFn = (want: number, returned: number) => Promise<LeaseGrant>;

export class LocalLease {
  private tokens = 0;
  private expiresAt = 0;
  private deniedUntil = 0;
  private pending: Promise<void> | null = null;
  /** Start a background lease when this few units remain, so a busy node rarely waits on Redis. */
  private readonly lowWater: number;
  /** The shared counter's remaining units at the last lease; RateLimit-Remaining is estimated from it. */
  shared: number;
  lastUsed = 0;
  /**
   * Requests of this node waiting for a lease of this counter (ThrottleStage counts itself in while it
   * awaits one). The next lease asks for at least this many: a burst that arrives while the counter is
   * empty here is then served by one more round trip instead of one lease of `want` per round trip, which
   * with `want` = 1 (any rate up to 20/s) admitted a handful of a burst and refused the rest.
   */
  waiters = 0;

  constructor(
    private readonly leaseFn: LeaseFn,
    /** Units per lease (>= 1). */
    readonly want: number,
    /** Unspent units are handed back after this long, so an idle node does not hoard them. */
    private readonly ttlMs: number,
    initialShared: number,
  ) {
    this.lowWater = Math.floor(want / 4);
    this.shared = initialShared;
  }

  take(now: number): TakeResult {
    this.lastUsed = now;
    if (this.tokens > 0 && now < this.expiresAt) {
      this.tokens--;
      if (this.tokens < this.lowWater && this.pending === null) this.refill(now).catch(ignore);
      return TAKEN;
    }
    return now < this.deniedUntil ? DENIED : MISS;
  }

  /** True when a take would miss: nothing leased (or the lease expired) and Redis has not said no. */
  needsRefill(now: number): boolean {
    return (this.tokens === 0 || now >= this.expiresAt) && now >= this.deniedUntil;
  }

  /** Gives back a unit taken in this same turn (another level refused the request). */
  refund(): void {
    this.tokens++;
  }

  /** Units this node may still spend plus what the shared counter had left: an estimate, never a promise. */
  remaining(): number {
    return this.shared + this.tokens;
  }

  retryAfterMs(now: number): number {
    return Math.max(0, this.deniedUntil - now);
  }

  /** One lease in flight per counter per node; concurrent requests share it. */
  refill(now: number): Promise<void> {
    if (this.pending !== null) return this.pending;
    let returned = 0;
    if (this.tokens > 0 && now >= this.expiresAt) {
      returned = this.tokens;
      this.tokens = 0;
    }
    const p = this.leaseFn(Math.max(this.want, this.waiters), returned).then(
      (g) => {
        this.pending = null;
        // The request's clock reading stands for "now": off by one Redis round trip, on the safe side.
        const t = now;
        this.shared = g.remaining;
        if (g.granted > 0) {
          this.tokens += g.granted;
          this.expiresAt = t + this.ttlMs;
          this.deniedUntil = 0;
        } else {
          this.deniedUntil = t + g.retryAfterMs;
        }
      },
      (err: unknown) => {
        this.pending = null;
        throw err;
      },
    );
    this.pending = p;
    return p;
  }
}

function ignore(): void {}
