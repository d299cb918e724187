import { duplicateRedis, isCluster, type RedisClient } from '@turnpike/redis';
import type { Logger } from 'pino';
import { Packr } from 'msgpackr';
import { RedisGuard, type RedisBound } from '../redis/redisGuard.js';

/**
 * Node-to-node messages over Redis pub/sub, as msgpack envelopes. Each node listens on its own inbox
 * (messages for connections it holds: published to that node only) and on one topics channel (a topic
 * publish must reach subscribers on every node). One subscriber connection and one publisher per node
 * keep the order of messages for one connection.
 *
 * On Redis Cluster an inbox is a shard channel (SSUBSCRIBE/SPUBLISH): a message for one node stays on
 * the shard that owns the inbox's slot instead of being broadcast over the cluster bus to every node.
 * The topics channel stays classic pub/sub: every edge subscribes to it, so a topic message has to reach
 * every node's subscribers anyway, and a classic channel lets each edge's subscriber sit on any node
 * (a shard channel would put all topic traffic of the deployment on the one shard owning its slot).
 */
export const OP_SEND = 1;
export const OP_CLOSE = 2;
export const OP_SUBSCRIBE = 3;
export const OP_UNSUBSCRIBE = 4;
export type Op = typeof OP_SEND | typeof OP_CLOSE | typeof OP_SUBSCRIBE | typeof OP_UNSUBSCRIBE;

/** For one connection: `d` is the payload (send) or the topic (subscribe / unsubscribe). */
export interface ConnectionEnvelope {
  o: Op;
  c: string;
  d: Buffer | string | null;
  b: boolean;
}

/** A topic publish: `t` the uWS topic key, `n` the publishing node (which has delivered it locally). */
export interface TopicEnvelope {
  n: string;
  t: string;
  d: Buffer | string;
  b: boolean;
}

const packr = new Packr({ useRecords: false });
export const packEnvelope = (e: ConnectionEnvelope | TopicEnvelope): Buffer => packr.pack(e);

export class NodeBus {
  private readonly sub: RedisClient;
  private readonly sharded: boolean;
  private readonly publishes: RedisBound;
  private confirmed = false;

  constructor(
    private readonly pub: RedisClient,
    private readonly inbox: string,
    private readonly topicsChannel: string,
    private readonly onConnection: (e: ConnectionEnvelope) => void,
    private readonly onTopic: (e: TopicEnvelope) => void,
    private readonly logger: Logger,
  ) {
    // A subscriber connection cannot run other commands; it queues while reconnecting and resubscribes
    // (so it waits out an outage: no command timeout, unlike the request-path connection it copies).
    this.sharded = isCluster(pub);
    this.sub = duplicateRedis(pub, { name: 'turnpike-edge-ws-bus', enableOfflineQueue: true, maxRetriesPerRequest: null, shardedSubscribers: this.sharded, blocking: true });
    this.publishes = RedisGuard.of(pub, logger).bound('websocket topic publish');
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.dispatch(channel, message));
    this.sub.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.dispatch(channel, message));
  }

  /**
   * Subscribes to the inbox and the topics channel; resolves once Redis has confirmed both.
   *
   * On one node or Sentinel the subscription waits for the connection's `ready`. SUBSCRIBE is a command
   * Redis accepts while loading, so ioredis writes it at once on a connection that is past its TCP
   * connect but has not finished its handshake; the reply puts the client in subscriber mode, ioredis
   * then refuses its own ready check (INFO: "Connection in subscriber mode"), drops the connection as a
   * failed handshake and reconnects without the channels (it restores them only for a connection that
   * had been ready). SUBSCRIBE had answered, so the loss went unnoticed: that was the edge whose inbox had
   * no subscriber after a connect burst (docs/websocket.md). Once subscribed on a ready connection,
   * ioredis's autoResubscribe restores the channels after every reconnect.
   *
   * On Cluster the subscriber connections are ioredis's own (lazily connected, commands queued until
   * ready, channels moved with the slot owner), so the commands go out at once.
   */
  async start(): Promise<void> {
    if (this.sharded) await Promise.all([this.sub.ssubscribe(this.inbox), this.sub.subscribe(this.topicsChannel)]);
    else {
      while (this.sub.status !== 'ready') await new Promise((resolve) => this.sub.once('ready', resolve));
      await this.sub.subscribe(this.inbox, this.topicsChannel);
    }
    this.confirmed = true;
  }

  /** Readiness: both channels confirmed once, and the subscriber connected (ioredis resubscribes it). */
  get subscribed(): boolean {
    return this.confirmed && this.sub.status === 'ready';
  }

  private dispatch(channel: Buffer, message: Buffer): void {
    let e: unknown;
    try {
      e = packr.unpack(message);
    } catch (err) {
      this.logger.warn({ err, channel: channel.toString() }, 'websocket bus: undecodable envelope');
      return;
    }
    if (channel.length === this.topicsChannel.length && channel.toString() === this.topicsChannel) this.onTopic(e as TopicEnvelope);
    else this.onConnection(e as ConnectionEnvelope);
  }

  publishTopic(e: TopicEnvelope): Promise<number> {
    const envelope = packEnvelope(e);
    return this.publishes.call(() => this.pub.publish(this.topicsChannel, envelope));
  }

  async close(): Promise<void> {
    this.sub.disconnect();
  }
}
