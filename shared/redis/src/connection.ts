import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConnectOptions {
  url: string;
  /** Name shown by CLIENT LIST, so an operator can tell gateway connections apart. */
  name?: string;
  /**
   * Fail commands at once while disconnected instead of queueing them: the hot path must never wait on a
   * Redis that is down (the caller applies its fail-open/fail-closed policy). Off for tools and workers.
   */
  failFast?: boolean;
  /** BullMQ requires null here for blocking connections. */
  maxRetriesPerRequest?: number | null;
  /**
   * The longest a request may wait on this connection (gateway.redis.timeoutMs). The edge's RedisGuard
   * enforces it per call (requestTimeoutOf); as a backstop for any command that bypasses the guard, ioredis
   * rejects every command after twice this (`commandTimeout`), so a hung Redis cannot stall a caller
   * however it calls. Never for blocking connections (BLMPOP, subscribers).
   */
  requestTimeoutMs?: number;
}

const requestTimeouts = new WeakMap<Redis, number>();

/** The `requestTimeoutMs` a connection was opened with (undefined for one opened without). */
export function requestTimeoutOf(redis: Redis): number | undefined {
  return requestTimeouts.get(redis);
}

/** One ioredis connection that keeps reconnecting with capped backoff, and never crashes the process. */
export function connectRedis(opts: RedisConnectOptions): Redis {
  const options: RedisOptions = {
    connectionName: opts.name,
    lazyConnect: false,
    enableOfflineQueue: !opts.failFast,
    maxRetriesPerRequest: opts.maxRetriesPerRequest === undefined ? (opts.failFast ? 0 : 20) : opts.maxRetriesPerRequest,
    // Reconnect within half a second of Redis coming back (a refused TCP connect costs next to nothing),
    // so a node's recovery after an outage is not delayed by a long backoff.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 4), 500),
    enableAutoPipelining: true,
    ...(opts.requestTimeoutMs === undefined ? {} : { commandTimeout: 2 * opts.requestTimeoutMs }),
  };
  const client = new Redis(opts.url, options);
  if (opts.requestTimeoutMs !== undefined) requestTimeouts.set(client, opts.requestTimeoutMs);
  // Errors are reported through readiness checks and the callers' own results; an unhandled 'error'
  // event would otherwise crash the process while Redis is restarting.
  client.on('error', () => {});
  return client;
}
