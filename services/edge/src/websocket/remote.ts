import type { RedisClient, RedisKeys } from '@turnpike/redis';
import { OP_CLOSE, OP_SEND, packEnvelope } from './bus.js';
import { deliverToConnection } from './registry.js';

/**
 * Sending to a connection and publishing to a topic from outside any edge (the control service's admin
 * API): the same envelopes, inbox and topics channel the edges use between themselves, so a message
 * from here is delivered exactly as one from a peer node.
 */
export class RemoteWebSocket {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** -1: unknown connection; 0: its node is gone; otherwise handed to the owning node's inbox. */
  async send(connectionId: string, data: string): Promise<number> {
    const envelope = packEnvelope({ o: OP_SEND, c: connectionId, d: data, b: false });
    return deliverToConnection(this.redis, this.keys.tagged('wsconn', connectionId), envelope);
  }

  /** Closes a connection (1000, as @connections DELETE does); the same answers as send. */
  async close(connectionId: string): Promise<number> {
    const envelope = packEnvelope({ o: OP_CLOSE, c: connectionId, d: null, b: false });
    return deliverToConnection(this.redis, this.keys.tagged('wsconn', connectionId), envelope);
  }

  /** Publishes to every subscriber of `topic` on the API stage, on every node; resolves the nodes listening. */
  publish(api: string, stage: string, topic: string, data: string): Promise<number> {
    // `n` names the publisher so an edge skips what it delivered itself; no edge has this id.
    return this.redis.publish(this.keys.tagged('wstopics', 'all'), packEnvelope({ n: 'control', t: `${api}/${stage}/${topic}`, d: data, b: false }));
  }
}
