import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '@turnpike/redis';
import { OP_SEND, packEnvelope } from './bus.js';

const DELIVER_LUA = readFileSync(createRequire(import.meta.url).resolve('@turnpike/redis/scripts/ws-deliver-1.lua'), 'utf8');

/**
 * Sending to a connection and publishing to a topic from outside any edge (the control service's admin
 * API): the same envelopes, inbox and topics channel the edges use between themselves, so a message
 * from here is delivered exactly as one from a peer node.
 */
export class RemoteWebSocket {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** -1: unknown connection; 0: its node is gone; otherwise handed to the owning node's inbox. */
  async send(connectionId: string, data: string): Promise<number> {
    const envelope = packEnvelope({ o: OP_SEND, c: connectionId, d: data, b: false });
    return (await this.redis.eval(DELIVER_LUA, 1, this.keys.tagged('wsconn', connectionId), envelope)) as number;
  }

  /** Publishes to every subscriber of `topic` on the API stage, on every node; resolves the nodes listening. */
  publish(api: string, stage: string, topic: string, data: string): Promise<number> {
    // `n` names the publisher so an edge skips what it delivered itself; no edge has this id.
    return this.redis.publish(this.keys.tagged('wstopics', 'all'), packEnvelope({ n: 'control', t: `${api}/${stage}/${topic}`, d: data, b: false }));
  }
}
