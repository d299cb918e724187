import type { Attributes } from '@opentelemetry/api';
import type { Command } from 'ioredis';
import type { RedisClient } from '@turnpike/redis';
import type { GatewayMetrics } from '@turnpike/telemetry';

/**
 * Records the round trip of every command the edge's own Redis connection sends (scripts show as
 * `evalsha`), by wrapping that one client's sendCommand: the stages keep calling ioredis as usual. The
 * label is the command name, a closed set, cached so recording allocates nothing.
 */
export function measureRedisCommands(redis: RedisClient, metrics: GatewayMetrics): void {
  const labels = new Map<string, Attributes>();
  // Redis and Cluster both route every command through sendCommand (Cluster's takes a node as well).
  const client = redis as unknown as { sendCommand(command: Command, ...rest: unknown[]): unknown };
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command: Command, ...rest: unknown[]) => {
    const started = performance.now();
    const result = send(command, ...rest);
    const done = () => {
      let l = labels.get(command.name);
      if (l === undefined) labels.set(command.name, (l = Object.freeze({ command: command.name })));
      metrics.redisCommand(l, performance.now() - started);
    };
    command.promise.then(done, done);
    return result;
  };
}
