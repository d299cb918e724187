import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { Redis } from 'ioredis';
import { connectRedis, type RedisClient } from '@turnpike/redis';
import { SHARED_REDIS_URL, testPrefix } from '@turnpike/testing';
import { NodeBus, packEnvelope, OP_SEND, type ConnectionEnvelope } from '../../src/websocket/bus.js';

// The bus's subscriber connection, reached the way only this test needs: to act at its `connect` event.
const subscriberOf = (bus: NodeBus): Redis => (bus as unknown as { sub: Redis }).sub;
const ready = (r: Redis): Promise<void> => (r.status === 'ready' ? Promise.resolve() : new Promise((resolve) => r.once('ready', () => resolve())));

describe('websocket node bus', () => {
  const opened: { pub: RedisClient; bus: NodeBus }[] = [];
  afterEach(async () => {
    for (const { pub, bus } of opened.splice(0)) {
      await bus.close();
      pub.disconnect();
    }
  });

  // The wsscale finding (docs/websocket.md): a subscribe issued between the subscriber's TCP connect and
  // its ready check was answered, then lost with the connection ioredis dropped when its own ready check
  // was refused in subscriber mode. Starting the bus at that moment must still leave the inbox subscribed.
  it('keeps its inbox subscribed when started while its connection is still in its handshake', async () => {
    const prefix = testPrefix('wsbus');
    const inbox = `${prefix}inbox`;
    let deliver: (e: ConnectionEnvelope) => void = () => {};
    const received = new Promise<ConnectionEnvelope>((resolve) => (deliver = resolve));
    const pub = connectRedis({ url: SHARED_REDIS_URL, name: 'turnpike-test-wsbus' });
    const bus = new NodeBus(pub, inbox, `${prefix}topics`, (e) => deliver(e), () => {}, pino({ level: 'silent' }));
    opened.push({ pub, bus });
    const sub = subscriberOf(bus);
    const started = new Promise<void>((resolve, reject) => sub.once('connect', () => bus.start().then(resolve, reject)));
    await started;
    expect(bus.subscribed).toBe(true);
    await ready(sub);
    const envelope: ConnectionEnvelope = { o: OP_SEND, c: 'c1', d: 'hello', b: false };
    expect(await pub.publish(inbox, packEnvelope(envelope))).toBe(1);
    expect(await received).toEqual(envelope);
  });
});
