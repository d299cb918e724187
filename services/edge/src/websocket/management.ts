import { isUtf8 } from 'node:buffer';
import { TOPIC_NAME } from '@turnpike/config';
import type { RequestContext } from '../pipeline/context.js';
import { OP_CLOSE, OP_SEND, OP_SUBSCRIBE, OP_UNSUBSCRIBE } from './bus.js';
import type { CredentialStore } from './credentials.js';
import type { Delivery } from './delivery.js';
import type { ConnectionRegistry } from './registry.js';
import { verifySigV4 } from './sigv4.js';
import { RedisUnavailableError } from '../redis/redisGuard.js';

/**
 * API Gateway's management API for WebSocket APIs, on the API's own host, base path and stage:
 *
 *   POST|GET|DELETE /{stage}/@connections/{connectionId}     send, describe, disconnect
 *   POST|DELETE     /{stage}/@connections/{id}/topics/{topic} subscribe, unsubscribe (Turnpike)
 *   POST            /{stage}/@topics/{topic}                  publish to every subscriber (Turnpike)
 *
 * Every call is SigV4-signed (service `execute-api`) with a Turnpike-issued access key. Errors carry
 * `x-amzn-errortype`, which the AWS SDK turns into GoneException, ForbiddenException... A call that needs
 * Redis (credentials, the registry, another node's inbox, the topics channel) while Redis is down or does
 * not answer within gateway.redis.timeoutMs gets 503 ServiceUnavailableException.
 */
export interface ManagementTarget {
  readonly credentials: CredentialStore;
  readonly registry: ConnectionRegistry;
  readonly delivery: Delivery;
}

export async function handleManagementRequest(gw: ManagementTarget, ctx: RequestContext, rawPath: string): Promise<void> {
  try {
    await manage(gw, ctx, rawPath);
  } catch (err) {
    if (!(err instanceof RedisUnavailableError)) throw err;
    ctx.errorMessage ??= err.message;
    if (!ctx.responded) error(ctx, 503, 'ServiceUnavailableException', 'Service Unavailable');
  }
}

async function manage(gw: ManagementTarget, ctx: RequestContext, rawPath: string): Promise<void> {
  const segs = ctx.segments.slice(ctx.routeOffset);
  const method = ctx.method;
  type Action = 'send' | 'get' | 'delete' | 'subscribe' | 'unsubscribe' | 'publish';
  let action: Action | null = null;
  let allow = '';
  if (segs[0] === '@connections' && segs.length === 2) {
    allow = 'GET, POST, DELETE';
    action = method === 'POST' ? 'send' : method === 'GET' ? 'get' : method === 'DELETE' ? 'delete' : null;
  } else if (segs[0] === '@connections' && segs.length === 4 && segs[2] === 'topics') {
    allow = 'POST, DELETE';
    action = method === 'POST' ? 'subscribe' : method === 'DELETE' ? 'unsubscribe' : null;
  } else if (segs[0] === '@topics' && segs.length === 2) {
    allow = 'POST';
    action = method === 'POST' ? 'publish' : null;
  } else {
    return error(ctx, 404, 'NotFoundException', 'Not Found');
  }
  if (action === null) return error(ctx, 405, 'MethodNotAllowedException', 'Method Not Allowed', ['allow', allow]);

  const body = ctx.body ? await ctx.body.readAll() : EMPTY;
  if (ctx.aborted) return;
  const verdict = await verifySigV4({ method, rawPath, query: ctx.query, rawHeaders: ctx.rawHeaders, body }, 'execute-api', (id) => gw.credentials.secretOf(id));
  if (!verdict.ok) return error(ctx, 403, 'ForbiddenException', verdict.message);

  // `@connections/{id}[/topics/{topic}]` or `@topics/{topic}`, as matched above.
  const id = segs[1];
  if (id === undefined) return error(ctx, 404, 'NotFoundException', 'Not Found');
  const maxBytes = ctx.api.config.websocket?.maxMessageBytes ?? 128 * 1024;
  switch (action) {
    case 'send': {
      if (body.length > maxBytes) return error(ctx, 413, 'PayloadTooLargeException', `Message exceeds ${maxBytes} bytes`);
      const text = isText(body);
      const ok = await gw.delivery.toConnection(id, OP_SEND, text ? body.toString('utf8') : body, !text);
      return ok ? ctx.respond(200, null, '') : gone(ctx, id);
    }
    case 'get': {
      const local = gw.delivery.localConnection(id);
      const info = local && !local.closed ? { connectedAt: local.connectedAt, lastActiveAt: local.lastActiveAt, sourceIp: local.sourceIp, userAgent: local.userAgent } : await gw.registry.lookup(id);
      if (!info) return gone(ctx, id);
      return ctx.respond(
        200,
        JSON_TYPE,
        JSON.stringify({ connectedAt: new Date(info.connectedAt).toISOString(), identity: { sourceIp: info.sourceIp, userAgent: info.userAgent }, lastActiveAt: new Date(info.lastActiveAt).toISOString() }),
      );
    }
    case 'delete':
      return (await gw.delivery.toConnection(id, OP_CLOSE, null, false)) ? ctx.respond(204, null, '') : gone(ctx, id);
    case 'subscribe':
    case 'unsubscribe': {
      const topic = segs[3];
      if (topic === undefined || !TOPIC_NAME.test(topic)) return error(ctx, 400, 'BadRequestException', 'Invalid topic name');
      const ok = await gw.delivery.toConnection(id, action === 'subscribe' ? OP_SUBSCRIBE : OP_UNSUBSCRIBE, topic, false);
      return ok ? ctx.respond(204, null, '') : gone(ctx, id);
    }
    case 'publish': {
      const topic = id;
      if (!TOPIC_NAME.test(topic)) return error(ctx, 400, 'BadRequestException', 'Invalid topic name');
      if (body.length > maxBytes) return error(ctx, 413, 'PayloadTooLargeException', `Message exceeds ${maxBytes} bytes`);
      const text = isText(body);
      await gw.delivery.publish(ctx.api.id, ctx.stage.name, topic, text ? body.toString('utf8') : body, !text);
      return ctx.respond(202, null, '');
    }
  }
}

const EMPTY = Buffer.alloc(0);
const JSON_TYPE = ['content-type', 'application/json'] as const;

function error(ctx: RequestContext, status: number, type: string, message: string, extra: readonly string[] = []): void {
  ctx.errorMessage ??= message;
  ctx.respond(status, ['content-type', 'application/json', 'x-amzn-errortype', type, ...extra], JSON.stringify({ message }));
}

function gone(ctx: RequestContext, id: string): void {
  error(ctx, 410, 'GoneException', `Connection ${id} is gone`);
}

/**
 * A text frame whenever the data is valid UTF-8, whatever its content type, as API Gateway delivers it:
 * the AWS SDK posts every `Data` as application/octet-stream, and a browser's `JSON.parse(e.data)` needs
 * a string, not a Blob. Only data that is not UTF-8 goes out as a binary frame.
 */
function isText(body: Buffer): boolean {
  return isUtf8(body);
}
