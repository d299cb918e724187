import { randomBytes } from 'node:crypto';
import { newRequestId } from '../http/requestIds.js';
import type { WebSocket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { wsFailureStatus, type WsResult } from '../integrations/webSocket.js';
import type { EdgeMetrics } from '../services/metrics/edgeMetrics.js';
import type { CompiledWsRoute } from './compiledApi.js';
import type { Connection, UserData } from './connection.js';
import { topicKey, type Delivery } from './delivery.js';
import type { WsEventLog } from './eventLog.js';
import { buildEvent } from './events.js';
import { BREACH_REASON, type LimitBreach } from './messageLimits.js';
import type { ConnectionRegistry } from './registry.js';

const CLOSE_TOO_BIG = 1009;
/** RFC 6455 "unsupported data": API Gateway's answer to a binary frame from a client. */
const CLOSE_UNSUPPORTED_DATA = 1003;
const CLOSE_POLICY_VIOLATION = 1008;

export interface WsRoutesDeps {
  readonly delivery: Delivery;
  readonly registry: ConnectionRegistry;
  readonly log: WsEventLog;
  readonly logger: Logger;
  readonly metrics: EdgeMetrics | null;
}

/**
 * Where a message goes: past the connection's limits, to the route its selection expression picks (else
 * `$default`, else an error frame), through that route's integration, and back as the route response when
 * the route has one. `$disconnect` runs here too, once the connection has closed.
 */
export class WsRoutes {
  constructor(private readonly deps: WsRoutesDeps) {}

  message(ws: WebSocket<UserData>, message: ArrayBuffer, isBinary: boolean): void {
    const conn = ws.getUserData().conn;
    if (conn.limited) return;
    const { metrics, log } = this.deps;
    const api = conn.api;
    const now = Date.now();
    if (message.byteLength > api.limits.maxMessageBytes) {
      metrics?.webSocketClientError(api.id, conn.stage.name, '-');
      ws.end(CLOSE_TOO_BIG, 'Message too big');
      return;
    }
    if (isBinary && !api.acceptsBinary) {
      metrics?.webSocketClientError(api.id, conn.stage.name, '-');
      ws.end(CLOSE_UNSUPPORTED_DATA, 'Binary frames are not supported');
      return;
    }
    const bytes = message.byteLength;
    const breach = api.messageLimits.admit(conn, bytes, now);
    if (breach !== null) return this.closeForLimit(ws, conn, breach, now);
    conn.lastActiveAt = now;
    this.deps.registry.touched(conn);
    // uWS neuters the buffer when this callback returns: copy what outlives it.
    const text = isBinary ? null : Buffer.from(message).toString('utf8');
    const route = api.select(text);
    const requestId = newRequestId();
    if (route === null) {
      api.messageLimits.settled(conn, bytes);
      metrics?.webSocketClientError(api.id, conn.stage.name, '-');
      log.line(conn, 'MESSAGE', '-', requestId, now, 403, null, 'no route matches the message and there is no $default route');
      this.deps.delivery.sendLocal(conn, JSON.stringify({ message: 'Forbidden', connectionId: conn.id, requestId }), false);
      return;
    }
    metrics?.webSocketMessage(api.id, conn.stage.name, route.key);
    const payload = text ?? Buffer.from(message.slice(0));
    const messageId = randomBytes(12).toString('base64');
    const event = buildEvent(conn, route.key, 'MESSAGE', requestId, { messageId, body: text ?? (payload as Buffer).toString('base64'), isBase64Encoded: text === null });
    route.integration.invoke({ event, stage: conn.stage, requestId, payload, sourceIp: conn.sourceIp, authorizer: conn.authorizer }).then(
      (r) => {
        api.messageLimits.settled(conn, bytes);
        log.line(conn, 'MESSAGE', route.key, requestId, now, r.statusCode, messageId, null);
        this.afterIntegration(conn, route, r);
      },
      (err: unknown) => {
        api.messageLimits.settled(conn, bytes);
        metrics?.webSocketIntegrationError(api.id, conn.stage.name, route.key);
        log.line(conn, 'MESSAGE', route.key, requestId, now, wsFailureStatus(err), messageId, (err as Error).message);
        this.deps.logger.error({ err, connectionId: conn.id, route: route.key, requestId }, 'websocket route integration failed');
        this.deps.delivery.sendLocal(conn, JSON.stringify({ message: 'Internal server error', connectionId: conn.id, requestId }), false);
      },
    );
  }

  /** Runs `$disconnect` for a closed connection; the promise (null without the route) is for draining. */
  disconnect(conn: Connection, code: number, reason: string): Promise<void> | null {
    const route = conn.api.disconnect;
    const requestId = newRequestId();
    const now = Date.now();
    const { log, metrics } = this.deps;
    if (route === null) {
      log.line(conn, 'DISCONNECT', '$disconnect', requestId, now, 200, null, null);
      return null;
    }
    const event = buildEvent(conn, '$disconnect', 'DISCONNECT', requestId, { disconnectStatusCode: code, disconnectReason: reason });
    return route.integration.invoke({ event, stage: conn.stage, requestId, payload: null, sourceIp: conn.sourceIp, authorizer: conn.authorizer }).then(
      (r) => log.line(conn, 'DISCONNECT', '$disconnect', requestId, now, r.statusCode, null, null),
      (err: unknown) => {
        metrics?.webSocketIntegrationError(conn.api.id, conn.stage.name, '$disconnect');
        log.line(conn, 'DISCONNECT', '$disconnect', requestId, now, wsFailureStatus(err), null, (err as Error).message);
        this.deps.logger.error({ err, connectionId: conn.id, route: '$disconnect' }, 'websocket $disconnect integration failed');
      },
    );
  }

  /**
   * Closes a connection that passed a per-connection limit with 1008. One access-log line says why;
   * what the client still sends is ignored, so a flood costs neither integrations nor log lines.
   */
  private closeForLimit(ws: WebSocket<UserData>, conn: Connection, breach: LimitBreach, now: number): void {
    conn.limited = true;
    this.deps.metrics?.webSocketLimitClose(conn.api.id, conn.stage.name, breach);
    this.deps.log.line(conn, 'MESSAGE', '-', newRequestId(), now, 429, null, BREACH_REASON[breach]);
    ws.end(CLOSE_POLICY_VIOLATION, BREACH_REASON[breach]);
  }

  private afterIntegration(conn: Connection, route: CompiledWsRoute, r: WsResult): void {
    if (conn.closed) return;
    if (r.subscribe) for (const t of r.subscribe) conn.ws!.subscribe(topicKey(conn, t));
    if (r.unsubscribe) for (const t of r.unsubscribe) conn.ws!.unsubscribe(topicKey(conn, t));
    if (route.config.routeResponse && r.body !== null) this.deps.delivery.sendLocal(conn, r.body, typeof r.body !== 'string');
  }
}
