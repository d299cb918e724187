import type { Connection } from './connection.js';

/** Why a connection is closed with 1008 (also the metric's `limit` label). */
export type LimitBreach = 'message_rate' | 'pending_bytes';

/** The close reason a client sees for each breach. */
export const BREACH_REASON: Readonly<Record<LimitBreach, string>> = {
  message_rate: 'Message rate exceeded',
  pending_bytes: 'Too many messages waiting for their integration',
};

/**
 * Per-connection message limits of one WebSocket API: a token bucket on the message rate (refilled
 * `perSecond`, holding at most `burst`) and a bound on the bytes of messages whose route integration
 * has not answered yet. The state lives in numeric fields of the Connection, so checking a message
 * allocates nothing and keeps no per-connection timer.
 */
export class MessageLimits {
  private readonly perMs: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    readonly maxPendingBytes: number,
  ) {
    this.perMs = perSecond / 1000;
  }

  /** Gives a new connection a full bucket. */
  init(conn: Connection, now: number): void {
    conn.tokens = this.burst;
    conn.tokensAt = now;
  }

  /**
   * Takes one message of `bytes` into the connection's budget, or says which limit it breaks. A message
   * is always admitted when none is waiting, whatever its size (maxMessageBytes bounds that).
   */
  admit(conn: Connection, bytes: number, now: number): LimitBreach | null {
    const tokens = Math.min(this.burst, conn.tokens + (now - conn.tokensAt) * this.perMs);
    conn.tokensAt = now;
    if (tokens < 1) {
      conn.tokens = tokens;
      return 'message_rate';
    }
    conn.tokens = tokens - 1;
    if (conn.pendingBytes > 0 && conn.pendingBytes + bytes > this.maxPendingBytes) return 'pending_bytes';
    conn.pendingBytes += bytes;
    return null;
  }

  /** The message's integration answered (or failed): its bytes no longer wait. */
  settled(conn: Connection, bytes: number): void {
    conn.pendingBytes -= bytes;
  }
}
