import type { TemplatedApp } from 'uWebSockets.js';
import type { RedisClient } from '@turnpike/redis';
import type { Logger } from 'pino';
import { NodeBus, OP_CLOSE, OP_SEND, OP_SUBSCRIBE, OP_UNSUBSCRIBE, packEnvelope, type ConnectionEnvelope, type Op, type TopicEnvelope } from './bus.js';
import type { Connection } from './connection.js';
import type { ConnectionRegistry } from './registry.js';

/**
 * Where a frame for a connection or topic goes: a connection this node holds gets it at once; one held by
 * another node goes through that node's inbox (the registry says which); a topic publish reaches this
 * node's subscribers through uWS pub/sub and every other node's through the topics channel.
 */
export class Delivery {
  private app: TemplatedApp | null = null;
  /** Messages uWS dropped for slow consumers (drop policy). */
  dropped = 0;
  /** This node's inbox and the topics channel (lifecycle.ts subscribes and closes it). */
  readonly bus: NodeBus;

  constructor(
    /** The connections this node holds, by id. */
    private readonly local: Map<string, Connection>,
    private readonly registry: ConnectionRegistry,
    private readonly nodeId: string,
    redis: RedisClient,
    topicsChannel: string,
    logger: Logger,
  ) {
    this.bus = new NodeBus(redis, registry.inbox, topicsChannel, (e) => this.onEnvelope(e), (e) => this.onTopic(e), logger);
  }

  /** The uWS app whose pub/sub carries this node's topic subscriptions. */
  attach(app: TemplatedApp): void {
    this.app = app;
  }

  /** An operation another node sent through this node's inbox. */
  private onEnvelope(e: ConnectionEnvelope): void {
    const conn = this.local.get(e.c);
    if (conn) this.applyLocal(conn, e.o, e.d, e.b);
  }

  /** A publish from another node (this node's own went to its subscribers directly). */
  private onTopic(e: TopicEnvelope): void {
    if (e.n !== this.nodeId) this.app?.publish(e.t, e.d, e.b);
  }

  /** Sends on a connection this node holds; false when it is gone. */
  sendLocal(conn: Connection, data: string | Buffer, isBinary: boolean): boolean {
    const ws = conn.ws;
    if (conn.closed || ws === null) return false;
    let status = 1;
    ws.cork(() => (status = ws.send(data, isBinary)));
    if (status === 2) this.dropped++;
    conn.lastActiveAt = Date.now();
    this.registry.touched(conn);
    return true;
  }

  localConnection(id: string): Connection | undefined {
    return this.local.get(id);
  }

  /**
   * Applies an operation to a connection wherever it is: here directly, elsewhere through its node's
   * inbox. Resolves false when the connection is unknown or closed (410).
   */
  async toConnection(id: string, op: Op, data: Buffer | string | null, isBinary: boolean): Promise<boolean> {
    const conn = this.local.get(id);
    if (conn) return this.applyLocal(conn, op, data, isBinary);
    const n = await this.registry.deliver(id, packEnvelope({ o: op, c: id, d: data, b: isBinary }));
    return n > 0;
  }

  /** One publish to a topic of an API stage reaches its subscribers on every node (uWS pub/sub on each). */
  async publish(apiId: string, stage: string, topic: string, data: Buffer | string, isBinary: boolean): Promise<void> {
    const e: TopicEnvelope = { n: this.nodeId, t: `${apiId}/${stage}/${topic}`, d: data, b: isBinary };
    // The other nodes' subscribers through the topics channel, this node's directly. The PUBLISH goes
    // out first: the other nodes start their fan-out while this one does its own, and Redis's reply
    // comes back meanwhile. Sent after a local fan-out of ~18,000 connections, its reply waited behind
    // it and passed the Redis bound on a loaded machine: a 503 for a message every subscriber got.
    const published = this.bus.publishTopic(e);
    this.app?.publish(e.t, data, isBinary);
    await published;
  }

  private applyLocal(conn: Connection, op: Op, data: Buffer | string | null, isBinary: boolean): boolean {
    if (conn.closed || conn.ws === null) return false;
    switch (op) {
      case OP_SEND:
        return this.sendLocal(conn, data ?? '', isBinary);
      case OP_CLOSE:
        conn.ws.end(1000, 'Closed by the server');
        return true;
      case OP_SUBSCRIBE:
        conn.ws.subscribe(topicKey(conn, String(data)));
        return true;
      case OP_UNSUBSCRIBE:
        conn.ws.unsubscribe(topicKey(conn, String(data)));
        return true;
    }
  }
}

/** The uWS topic of a topic name: topics are per API stage. */
export function topicKey(conn: Connection, topic: string): string {
  return `${conn.api.id}/${conn.stage.name}/${topic}`;
}
