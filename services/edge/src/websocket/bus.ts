import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Packr } from 'msgpackr';
import { RedisGuard, type RedisBound } from '../redis/redisGuard.js';

/**
 * Node-to-node messages over Redis pub/sub, as msgpack envelopes. Each node listens on its own inbox
 * (messages for connections it holds: published to that node only) and on one topics channel (a topic
 * publish must reach subscribers on every node). One subscriber connection and one publisher per node
 * keep the order of messages for one connection.
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
  private readonly sub: Redis;
  private readonly publishes: RedisBound;

  constructor(
    private readonly pub: Redis,
    private readonly inbox: string,
    private readonly topicsChannel: string,
    private readonly onConnection: (e: ConnectionEnvelope) => void,
    private readonly onTopic: (e: TopicEnvelope) => void,
    private readonly logger: Logger,
  ) {
    // A subscriber connection cannot run other commands; it queues while reconnecting and resubscribes
    // (so it waits out an outage: no command timeout, unlike the request-path connection it copies).
    this.sub = pub.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined, connectionName: 'turnpike-edge-ws-bus' });
    this.sub.on('error', () => {});
    this.publishes = RedisGuard.of(pub, logger).bound('websocket topic publish');
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.dispatch(channel, message));
  }

  async start(): Promise<void> {
    await this.sub.subscribe(this.inbox, this.topicsChannel);
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
