import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseRedisUrl, redactUrl, type RedisUrl } from '@turnpike/config';

/**
 * Every Turnpike process talks to Redis through this type: one node and Sentinel give an ioredis `Redis`
 * (Sentinel failover happens inside it), Redis Cluster an ioredis `Cluster`. Both have the same command
 * methods; what differs (duplicating a connection, scanning, sharded pub/sub) has a helper below.
 */
export type RedisClient = Redis | Cluster;

/** Where Redis is and how to authenticate: `gateway.redis` of the config without the key prefix. */
export interface RedisEndpoint {
  /** redis://, rediss://, redis+sentinel://s1,s2/master, redis+cluster://n1,n2 (@turnpike/config redisUrl.ts). */
  url: string;
  /** ACL credentials of the data nodes; win over the URL's. */
  username?: string | undefined;
  password?: string | undefined;
  tls?: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined; servername?: string | undefined; rejectUnauthorized: boolean } | undefined;
  sentinel?: { username?: string | undefined; password?: string | undefined } | undefined;
  natMap?: Readonly<Record<string, string>> | undefined;
  /** Writes that must survive a failover wait for this many replicas (WAIT), at most timeoutMs. */
  replicaAck?: { replicas: number; timeoutMs: number } | undefined;
}

export interface RedisConnectOptions extends RedisEndpoint {
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

const requestTimeouts = new WeakMap<RedisClient, number>();

/** The `requestTimeoutMs` a connection was opened with (undefined for one opened without). */
export function requestTimeoutOf(redis: RedisClient): number | undefined {
  return requestTimeouts.get(redis);
}

/** Options for a second connection made from a first one (a subscriber, a blocking reader). */
export interface DuplicateOptions {
  name: string;
  /** Queue commands while reconnecting (subscribers and blocking readers wait out an outage). */
  enableOfflineQueue?: boolean;
  maxRetriesPerRequest?: number | null;
  enableAutoPipelining?: boolean;
  /** Cluster only: one subscriber per master, for SSUBSCRIBE (sharded pub/sub). */
  shardedSubscribers?: boolean;
  /**
   * A subscriber or blocking reader (BLMPOP): drops the first connection's `commandTimeout`, which would
   * otherwise reject a wait that is meant to last.
   */
  blocking?: boolean;
}

// Reconnect within half a second of Redis coming back (a refused TCP connect costs next to nothing), so a
// node's recovery after an outage is not delayed by a long backoff.
const retryStrategy = (times: number): number => Math.min(50 * 2 ** Math.min(times, 4), 500);

/**
 * One connection (or, for Cluster, one client holding a connection per node) that keeps reconnecting with
 * capped backoff, follows Sentinel and Cluster failovers, and never crashes the process.
 */
export function connectRedis(opts: RedisConnectOptions): RedisClient {
  const url = parseRedisUrl(opts.url);
  const tls = tlsOptions(url, opts);
  const node: RedisOptions = {
    connectionName: opts.name,
    lazyConnect: false,
    maxRetriesPerRequest: opts.maxRetriesPerRequest === undefined ? (opts.failFast ? 0 : 20) : opts.maxRetriesPerRequest,
    enableAutoPipelining: true,
    ...(opts.requestTimeoutMs === undefined ? {} : { commandTimeout: 2 * opts.requestTimeoutMs }),
    username: opts.username ?? url.username ?? undefined,
    password: opts.password ?? url.password ?? undefined,
    tls,
  };
  const natMap = opts.natMap ? natMapOf(opts.natMap) : undefined;
  let client: RedisClient;
  if (url.mode === 'cluster') {
    const options: ClusterOptions = {
      enableOfflineQueue: !opts.failFast,
      enableAutoPipelining: true,
      clusterRetryStrategy: retryStrategy,
      // While a master fails over, its slots answer CLUSTERDOWN/TRYAGAIN: retry briefly, inside the
      // command's own retries (failFast callers have none and answer at once, per their policy).
      retryDelayOnClusterDown: 100,
      retryDelayOnFailover: 100,
      retryDelayOnTryAgain: 100,
      maxRedirections: 16,
      shardedSubscribers: false,
      natMap,
      // Node addresses come from CLUSTER SLOTS (IPs): TLS must check the certificate against the name given.
      redisOptions: { ...node, tls: tls && { ...tls, servername: tls.servername ?? url.nodes[0].host } },
      slotsRefreshTimeout: 2000,
    };
    client = new Cluster(url.nodes.map((n) => ({ host: n.host, port: n.port })), options);
  } else if (url.mode === 'sentinel') {
    client = new Redis({
      ...node,
      sentinels: url.nodes.map((n) => ({ host: n.host, port: n.port })),
      name: url.masterName!,
      db: url.db,
      sentinelUsername: opts.sentinel?.username,
      sentinelPassword: opts.sentinel?.password,
      enableTLSForSentinelMode: tls !== undefined,
      sentinelTLS: tls,
      natMap,
      // A failover is noticed from the sentinels' +switch-master at once, not at the next reconnect; a
      // command that still reaches the demoted master (READONLY) makes the client reconnect to the new one.
      failoverDetector: true,
      reconnectOnError: (err) => err.message.startsWith('READONLY'),
      enableOfflineQueue: !opts.failFast,
      retryStrategy,
      sentinelRetryStrategy: retryStrategy,
    });
  } else {
    client = new Redis({ ...node, host: url.nodes[0].host, port: url.nodes[0].port, db: url.db, enableOfflineQueue: !opts.failFast, retryStrategy });
  }
  if (opts.requestTimeoutMs !== undefined) requestTimeouts.set(client, opts.requestTimeoutMs);
  // Errors are reported through readiness checks and the callers' own results; an unhandled 'error'
  // event would otherwise crash the process while Redis is restarting.
  client.on('error', () => {});
  return client;
}

/**
 * Resolves true once `client` takes commands without waiting: connected and, for a Cluster, connected to
 * every master. ioredis opens a Cluster node's connection on the first command for it, and a client
 * without an offline queue (a request path's) refuses a command for a node whose connection is still
 * opening, so right after start two commands for one node made the second fail. Resolves false after
 * `timeoutMs`, or at once when nothing listens at the address (connection refused: an outage the caller
 * reports, not a start-up worth waiting for). Failed attempts in between (a Cluster whose ready check
 * fails while its nodes still agree on the slots) are waited out.
 */
export async function whenConnected(client: RedisClient, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  if (!(await readyBy(client, deadline))) return false;
  if (!isCluster(client)) return true;
  const masters = client.nodes('master');
  for (const n of masters) if (n.status === 'wait') n.connect().catch(() => {});
  return (await Promise.all(masters.map((n) => readyBy(n, deadline)))).every(Boolean);
}

function readyBy(client: RedisClient, deadline: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady).off('error', onError).off('end', onEnd);
      resolve(ok);
    };
    const onReady = () => done(true);
    const onEnd = () => done(false);
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done(false);
    };
    const timer = setTimeout(() => done(false), Math.max(0, deadline - Date.now()));
    client.on('ready', onReady).on('error', onError).on('end', onEnd);
  });
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** A second client to the same deployment with other queueing rules (Redis and Cluster name these differently). */
export function duplicateRedis(client: RedisClient, o: DuplicateOptions): RedisClient {
  let dup: RedisClient;
  if (isCluster(client)) {
    dup = client.duplicate([], {
      enableOfflineQueue: o.enableOfflineQueue ?? client.options.enableOfflineQueue,
      enableAutoPipelining: o.enableAutoPipelining ?? client.options.enableAutoPipelining,
      shardedSubscribers: o.shardedSubscribers ?? false,
      redisOptions: {
        ...client.options.redisOptions,
        connectionName: o.name,
        ...(o.maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest: o.maxRetriesPerRequest } : {}),
        ...(o.blocking ? { commandTimeout: undefined } : {}),
      },
    });
  } else {
    dup = client.duplicate({
      connectionName: o.name,
      ...(o.enableOfflineQueue !== undefined ? { enableOfflineQueue: o.enableOfflineQueue } : {}),
      ...(o.maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest: o.maxRetriesPerRequest } : {}),
      ...(o.enableAutoPipelining !== undefined ? { enableAutoPipelining: o.enableAutoPipelining } : {}),
      ...(o.blocking ? { commandTimeout: undefined } : {}),
    });
  }
  dup.on('error', () => {});
  return dup;
}

/**
 * Every key matching `pattern`: SCAN on each master of a Cluster (a SCAN sent to the Cluster client would
 * see one node's keys only), on the one node otherwise. For tools, never the hot path.
 */
export async function scanKeys(client: RedisClient, pattern: string): Promise<string[]> {
  const nodes: Redis[] = isCluster(client) ? client.nodes('master') : [client];
  const out: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
  }
  return out;
}

/** The URL with its password hidden, for logs. */
export function describeRedis(endpoint: RedisEndpoint): string {
  return redactUrl(endpoint.url);
}

function tlsOptions(url: RedisUrl, opts: RedisEndpoint): ConnectionOptions | undefined {
  if (!url.tls && !opts.tls) return undefined;
  const t = opts.tls;
  return {
    ca: t?.caFile ? readFileSync(t.caFile) : undefined,
    cert: t?.certFile ? readFileSync(t.certFile) : undefined,
    key: t?.keyFile ? readFileSync(t.keyFile) : undefined,
    servername: t?.servername,
    rejectUnauthorized: t?.rejectUnauthorized ?? true,
  };
}

function natMapOf(map: Readonly<Record<string, string>>): Record<string, { host: string; port: number }> {
  const out: Record<string, { host: string; port: number }> = {};
  for (const [from, to] of Object.entries(map)) {
    const i = to.lastIndexOf(':');
    out[from] = { host: to.slice(0, i), port: Number(to.slice(i + 1)) };
  }
  return out;
}
