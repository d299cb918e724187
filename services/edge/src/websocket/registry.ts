import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isCluster, type RedisClient } from '@turnpike/redis';
import type { Logger } from 'pino';
import type { RedisKeys } from '@turnpike/redis';
import type { WebSocketNodeConfig } from '@turnpike/config';
import { RedisGuard, type RedisBound } from '../redis/redisGuard.js';
import type { Connection } from './connection.js';
import { RetriedWrites, type RegistryWrite } from './retriedWrites.js';

const script = (file: string) => readFileSync(createRequire(import.meta.url).resolve(`@turnpike/redis/scripts/${file}`), 'utf8');
const DELIVER_LUA = script('ws-deliver-1.lua');
const SCRIPTS = { tpWsNodeBeat: script('ws-node-beat-1.lua'), tpWsNodeClaim: script('ws-node-claim-1.lua'), tpWsConnReap: script('ws-conn-reap-1.lua') };

type RegistryRedis = RedisClient & {
  tpWsDeliver(key: string, envelope: Buffer): Promise<number>;
  tpWsNodeBeat(nodesKey: string, incarnation: string, join: '0' | '1'): Promise<number>;
  tpWsNodeClaim(nodesKey: string, timeoutMs: number, claimer: string, max: number): Promise<string[]>;
  tpWsConnReap(connKey: string, deadIncarnation: string): Promise<number>;
};

/** Dead nodes one heartbeat claims at most: the rest wait for the next heartbeat (of any node). */
const CLAIMS_PER_HEARTBEAT = 4;

/** What GET @connections/{id} reports about a connection held by another node. */
export interface RegisteredConnection {
  readonly connectedAt: number;
  readonly lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
}

/**
 * Hands an envelope to the inbox of the node holding connection `connKey`: -1 unknown connection, 0 its
 * node is gone, else delivered. Used by the registry (bounded by its guard) and by the control service.
 */
export function deliverToConnection(redis: RedisClient, connKey: string, envelope: Buffer): Promise<number> {
  return isCluster(redis) ? deliverSharded(redis, connKey, envelope) : (redis.eval(DELIVER_LUA, 1, connKey, envelope) as Promise<number>);
}

/**
 * On Redis Cluster inboxes are shard channels (SPUBLISH reaches the one shard the owning node listens
 * on, not every node of the cluster). A script cannot SPUBLISH to a channel outside its key's slot, so
 * this is the script's HGET and publish as two commands (bounded together by the caller).
 */
async function deliverSharded(redis: RedisClient, key: string, envelope: Buffer): Promise<number> {
  const inbox = await redis.hget(key, 'inbox');
  if (inbox === null) return -1;
  return (await redis.spublish(inbox, envelope)) as number;
}

/** A registered connection, read by any node or by the control service (GET /v1/connections/{id}). */
export async function lookupConnection(redis: RedisClient, keys: RedisKeys, id: string): Promise<RegisteredConnection | null> {
  const [connectedAt, lastActiveAt, sourceIp, userAgent] = await redis.hmget(keys.tagged('wsconn', id), 'connectedAt', 'lastActiveAt', 'sourceIp', 'userAgent');
  if (connectedAt === null) return null;
  return { connectedAt: Number(connectedAt), lastActiveAt: Number(lastActiveAt), sourceIp: sourceIp ?? '', userAgent: userAgent ?? '' };
}

/**
 * The cluster-wide connection registry in Redis:
 * - `wsconn:{id}`: hash of one connection (owning node and its inbox channel, api, stage, times, source
 *   IP, user agent, identity);
 * - `wsnode:{incarnation}:conns`: the ids a node holds, so its entries can be removed when it dies;
 * - `wsnodes:{live}`: sorted set of node incarnation → last heartbeat (ms, Redis's clock), or minus the
 *   time it was claimed while its entries are being removed.
 * Keys of one connection or one node share a hash tag; nothing needs two slots at once.
 *
 * Every node heartbeats; any node that sees another silent for `nodeTimeoutMs` claims it
 * (ws-node-claim-1.lua: exactly one claimer, never a node that renewed meanwhile) and removes the entries
 * that incarnation still owns, then the claim; a claim older than `nodeTimeoutMs` (its claimer died
 * meanwhile) is claimed again. A node that was claimed while alive (a stall longer than the timeout)
 * learns it on its next heartbeat and joins again under a new incarnation (`<node id>#<n>`), registering
 * its connections again: the claimer's removals are conditional on the old incarnation, so they cannot
 * undo the new entries in whatever order the two interleave. The inbox channel keeps the node id.
 * lastActiveAt is written in batches on the heartbeat, not per message.
 */
export class ConnectionRegistry {
  private readonly redis: RegistryRedis;
  private readonly nodesKey: string;
  /** This node's entry in the live set and the `node` field of its connections' hashes. */
  private incarnation: string;
  private generation = 0;
  private connsKey: string;
  readonly inbox: string;
  /** Inboxes are shard channels (Redis Cluster), see deliverSharded. */
  private readonly sharded: boolean;
  private readonly dirty = new Set<Connection>();
  private joined = false;
  /** Heartbeats overlap when Redis is slow; one removal of dead nodes' entries at a time is enough. */
  private reaping = false;
  /** @connections lookups and deliveries: answered (503) within the node's Redis bound, never stalled. */
  private readonly requests: RedisBound;
  private readonly writes: RetriedWrites;

  constructor(
    redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly nodeId: string,
    private readonly settings: WebSocketNodeConfig,
    private readonly logger: Logger,
    /** Every connection this node holds, to re-register after this node was wrongly reaped. */
    private readonly local: () => Iterable<Connection>,
    /** Told of every failed registry write (metrics); the write is retried. */
    onWriteFailure: (op: RegistryWrite) => void = () => {},
  ) {
    this.writes = new RetriedWrites(logger, onWriteFailure);
    redis.defineCommand('tpWsDeliver', { numberOfKeys: 1, lua: DELIVER_LUA });
    for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 1, lua });
    this.redis = redis as RegistryRedis;
    this.requests = RedisGuard.of(redis, logger).bound('websocket registry');
    this.nodesKey = keys.tagged('wsnodes', 'live');
    this.incarnation = nodeId;
    this.connsKey = keys.tagged('wsnode', nodeId, 'conns');
    this.inbox = keys.tagged('wsnode', nodeId, 'inbox');
    this.sharded = isCluster(redis);
  }

  connKey(id: string): string {
    return this.keys.tagged('wsconn', id);
  }

  /**
   * Writes a connection's entries (its hash and its id in this node's set). A failed write is retried
   * with a bounded backoff for as long as the connection is open: an entry that is never written makes
   * every other node answer 410 for a live connection.
   */
  register(conn: Connection): void {
    this.writes.run('register', conn.id, () => !conn.closed, () => this.writeEntries(conn));
  }

  private writeEntries(conn: Connection): Promise<unknown> {
    return Promise.all([
      this.redis.hset(this.connKey(conn.id), {
        node: this.incarnation,
        inbox: this.inbox,
        api: conn.api.id,
        stage: conn.stage.name,
        connectedAt: conn.connectedAt,
        lastActiveAt: conn.lastActiveAt,
        sourceIp: conn.sourceIp,
        userAgent: conn.userAgent,
        principalId: typeof conn.authorizer?.principalId === 'string' ? conn.authorizer.principalId : '',
      }),
      this.redis.sadd(this.connsKey, conn.id),
    ]);
  }

  /** Removes a connection's entries, retried until written while this node is in the registry. */
  unregister(conn: Connection): void {
    this.dirty.delete(conn);
    this.writes.run('unregister', conn.id, () => true, () => Promise.all([this.redis.unlink(this.connKey(conn.id)), this.redis.srem(this.connsKey, conn.id)]));
  }

  touched(conn: Connection): void {
    if (!conn.dirty) {
      conn.dirty = true;
      this.dirty.add(conn);
    }
  }

  /** Bounded by the Redis guard: an outage answers at once (the caller says 503), never waits. */
  lookup(id: string): Promise<RegisteredConnection | null> {
    return this.requests.call(() => lookupConnection(this.redis, this.keys, id));
  }

  /** -1: unknown connection; 0: its node is gone; otherwise delivered to the owning node's inbox. */
  deliver(id: string, envelope: Buffer): Promise<number> {
    const key = this.connKey(id);
    return this.requests.call(() => (this.sharded ? deliverSharded(this.redis, key, envelope) : this.redis.tpWsDeliver(key, envelope)));
  }

  /**
   * One heartbeat: renew this node (or join again if it was claimed), flush lastActiveAt, and remove the
   * entries of up to CLAIMS_PER_HEARTBEAT dead nodes. Renewal comes first and waits for nothing else, so
   * a slow removal never makes this node look dead.
   */
  async heartbeat(): Promise<void> {
    const incarnation = this.incarnation;
    const renewed = await this.redis.tpWsNodeBeat(this.nodesKey, incarnation, this.joined ? '0' : '1');
    this.joined = true;
    // Heartbeats can overlap: only the first to learn of a claim of this incarnation joins again.
    if (renewed === 0 && incarnation === this.incarnation) await this.rejoin();
    if (this.dirty.size) {
      // One command per connection, auto-pipelined (per node on Redis Cluster, where each connection's
      // key is in its own slot and an explicit pipeline would have to stay on one node).
      const writes: Promise<unknown>[] = [];
      for (const c of this.dirty) {
        c.dirty = false;
        if (!c.closed) writes.push(this.redis.hset(this.connKey(c.id), 'lastActiveAt', c.lastActiveAt));
      }
      this.dirty.clear();
      await Promise.all(writes);
    }
    if (this.reaping) return;
    this.reaping = true;
    try {
      await this.reap();
    } finally {
      this.reaping = false;
    }
  }

  private async rejoin(): Promise<void> {
    const old = this.connsKey;
    this.incarnation = `${this.nodeId}#${++this.generation}`;
    this.connsKey = this.keys.tagged('wsnode', this.incarnation, 'conns');
    this.logger.warn(
      { node: this.nodeId, incarnation: this.incarnation },
      'websocket registry: this node was missing from the live set (taken for dead after a stall longer than nodeTimeoutMs, or Redis lost its data); registering its connections again',
    );
    await this.redis.tpWsNodeBeat(this.nodesKey, this.incarnation, '1');
    for (const c of this.local()) this.register(c);
    // Whatever the claimer has not removed yet of the old set is registered again above.
    await this.redis.unlink(old);
  }

  private async reap(): Promise<void> {
    const claimed = await this.redis.tpWsNodeClaim(this.nodesKey, this.settings.nodeTimeoutMs, this.incarnation, CLAIMS_PER_HEARTBEAT);
    for (const node of claimed) {
      const removed = await this.removeNodeEntries(node);
      // Only now: had this node died before here, another would claim the dead node again (the claim's age).
      await this.redis.zrem(this.nodesKey, node);
      this.logger.info({ node, removed }, 'websocket registry: removed the connections of a dead node');
    }
  }

  private async removeNodeEntries(node: string): Promise<number> {
    const set = this.keys.tagged('wsnode', node, 'conns');
    let cursor = '0';
    let removed = 0;
    do {
      const [next, ids] = await this.redis.sscan(set, cursor, 'COUNT', 1000);
      cursor = next;
      const results = await Promise.all(ids.map((id) => this.redis.tpWsConnReap(this.connKey(id), node)));
      for (const r of results) removed += r;
    } while (cursor !== '0');
    await this.redis.unlink(set);
    return removed;
  }

  /** Leaves the registry on a graceful stop (connections were unregistered as they closed). */
  async leave(): Promise<void> {
    this.writes.stop();
    await this.redis.zrem(this.nodesKey, this.incarnation);
    await this.redis.unlink(this.connsKey);
  }
}
