import { STAGE_NAME, TOPIC_NAME } from '@turnpike/config';
import { RemoteWebSocket } from '@turnpike/edge';
import type { NodeHeartbeats, RedisClient, RedisKeys } from '@turnpike/redis';
import type { ConnectionList, ListedConnection } from './adminTypes.js';
import type { MetricsCollector } from './metrics/collector.js';
import { ApiError, objectBody, reply, stringField, type Call, type Router } from './http.js';

/** A message sent or published from the admin API (the edges' own default maxMessageBytes). */
const MAX_MESSAGE_BYTES = 128 * 1024;

function messageData(call: Call): string {
  const data = stringField(objectBody(call), 'data', true);
  if (Buffer.byteLength(data) > MAX_MESSAGE_BYTES) throw new ApiError(413, 'too_large', `a message is at most ${MAX_MESSAGE_BYTES} bytes`);
  return data;
}

/** Connections listed at most (the console groups them; a fleet holding more is summed from the heartbeats). */
const MAX_LISTED = 2_000;

/**
 * The fleet: nodes from their heartbeats, live metrics scraped from the edges (`apis` area), and the
 * WebSocket connections in the registry (`connections` area).
 */
export function fleetRoutes(router: Router, deps: { redis: RedisClient; keys: RedisKeys; nodes: NodeHeartbeats; metrics: MetricsCollector }): void {
  const { redis, keys, nodes, metrics } = deps;
  const ws = new RemoteWebSocket(redis, keys);
  router
    .add('GET', '/v1/nodes', 'apis', async () => ({ nodes: await nodes.list() }))
    .add('GET', '/v1/metrics', 'apis', async (call) => {
      const since = Number(call.query.get('since') ?? 0);
      if (!Number.isFinite(since)) throw new ApiError(400, 'invalid', '"since" must be a time in ms since the epoch');
      return { intervalMs: metrics.intervalMs, samples: metrics.since(since) };
    })
    .add('GET', '/v1/apis/{api}/stages/{stage}/metrics', 'apis', async (call) => {
      const stage = call.params.stage!;
      if (!STAGE_NAME.test(stage)) throw new ApiError(400, 'invalid', `"${stage}" is not a stage name`);
      const windowS = Number(call.query.get('window') ?? 60);
      if (!(windowS >= 1 && windowS <= 3600)) throw new ApiError(400, 'invalid', '"window" is 1 to 3600 seconds');
      return metrics.stage(call.params.api!, stage, windowS * 1000);
    })
    .add('GET', '/v1/connections', 'connections', async (): Promise<ConnectionList> => {
      // Live nodes only: a negative score is a dead node whose entries are being removed.
      const nodeIds = await redis.zrangebyscore(keys.tagged('wsnodes', 'live'), 0, '+inf');
      const out: ListedConnection[] = [];
      let truncated = false;
      for (const node of nodeIds) {
        const ids = await redis.smembers(keys.tagged('wsnode', node, 'conns'));
        if (out.length + ids.length > MAX_LISTED) {
          truncated = true;
          ids.length = Math.max(0, MAX_LISTED - out.length);
        }
        const p = redis.pipeline();
        for (const id of ids) p.hmget(keys.tagged('wsconn', id), 'api', 'stage', 'connectedAt', 'sourceIp');
        const rows = (await p.exec()) ?? [];
        rows.forEach(([, v], i) => {
          const [api, stage, connectedAt, sourceIp] = v as (string | null)[];
          const connectionId = ids[i];
          if (connectionId !== undefined && typeof api === 'string') out.push({ connectionId, node, api, stage: stage ?? '', connectedAt: Number(connectedAt), sourceIp: sourceIp ?? '' });
        });
        if (truncated) break;
      }
      return { connections: out, truncated };
    })
    .add('POST', '/v1/connections/{id}/messages', 'connections', async (call) => {
      const n = await ws.send(call.params.id!, messageData(call));
      if (n <= 0) throw new ApiError(410, 'gone', `the connection ${call.params.id} is ${n < 0 ? 'not open' : 'on a node that is gone'}`);
      return reply(204);
    })
    .add('DELETE', '/v1/connections/{id}', 'connections', async (call) => {
      const n = await ws.close(call.params.id!);
      if (n <= 0) throw new ApiError(410, 'gone', `the connection ${call.params.id} is ${n < 0 ? 'not open' : 'on a node that is gone'}`);
      return reply(204);
    })
    .add('POST', '/v1/apis/{api}/stages/{stage}/topics/{topic}', 'connections', async (call) => {
      // The route's own placeholders: present whenever it matched.
      const { api, stage, topic } = call.params as { api: string; stage: string; topic: string };
      if (!STAGE_NAME.test(stage)) throw new ApiError(400, 'invalid', `"${stage}" is not a stage name`);
      if (!TOPIC_NAME.test(topic)) throw new ApiError(400, 'invalid', `"${topic}" is not a topic name`);
      return reply(202, { nodes: await ws.publish(api, stage, topic, messageData(call)) });
    });
}
