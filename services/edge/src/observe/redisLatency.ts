import type { Attributes } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import type { GatewayMetrics } from '@turnpike/telemetry';

/**
 * Records the round trip of every command the edge's own Redis connection sends (scripts show as
 * `evalsha`), by wrapping that one client's sendCommand: the stages keep calling ioredis as usual. The
 * label is the command name, a closed set, cached so recording allocates nothing.
 */
export function measureRedisCommands(redis: Redis, metrics: GatewayMetrics): void {
  const labels = new Map<string, Attributes>();
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    const started = performance.now();
    const result = send(command, stream);
    const done = () => {
      let l = labels.get(command.name);
      if (l === undefined) labels.set(command.name, (l = Object.freeze({ command: command.name })));
      metrics.redisCommand(l, performance.now() - started);
    };
    command.promise.then(done, done);
    return result;
  };
}
