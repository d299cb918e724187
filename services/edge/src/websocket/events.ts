import { clfTime } from '../observe/clfTime.js';
import type { Connection } from './connection.js';
import { headerMaps, queryMaps } from '../http/valueMaps.js';

/**
 * API Gateway's WebSocket event (what `APIGatewayProxyWebsocketEventV2`-style handlers read). Only
 * `$connect` carries the handshake's headers and query string; only messages carry a body.
 */
export type EventType = 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

export interface Handshake {
  /** Title-Case names, as the `$connect` event carries them (http/headerCase.ts). */
  readonly headers: Record<string, string>;
  /** Lowercased names (repeated values comma-joined), for the gateway's own lookups. */
  readonly lookup: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
  readonly queryStringParameters: Record<string, string> | undefined;
  readonly multiValueQueryStringParameters: Record<string, string[]> | undefined;
}

export interface WebSocketEvent {
  requestContext: Record<string, unknown>;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  body?: string;
  isBase64Encoded: boolean;
}

export function buildEvent(
  conn: Connection,
  routeKey: string,
  eventType: EventType,
  requestId: string,
  extra: { handshake?: Handshake; messageId?: string; body?: string; isBase64Encoded?: boolean; disconnectStatusCode?: number; disconnectReason?: string },
): WebSocketEvent {
  const now = Date.now();
  const requestContext: Record<string, unknown> = {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: clfTime(now),
    messageDirection: 'IN',
    stage: conn.stage.name,
    connectedAt: conn.connectedAt,
    requestTimeEpoch: now,
    identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent },
    requestId,
    domainName: conn.domainName,
    connectionId: conn.id,
    apiId: conn.api.id,
  };
  if (extra.messageId !== undefined) requestContext.messageId = extra.messageId;
  if (conn.authorizer !== null) requestContext.authorizer = conn.authorizer;
  if (eventType === 'DISCONNECT') {
    requestContext.disconnectStatusCode = extra.disconnectStatusCode ?? 1005;
    requestContext.disconnectReason = extra.disconnectReason ?? '';
  }
  const event: WebSocketEvent = { requestContext, isBase64Encoded: extra.isBase64Encoded ?? false };
  const h = extra.handshake;
  if (h) {
    event.headers = h.headers;
    event.multiValueHeaders = h.multiValueHeaders;
    if (h.queryStringParameters) {
      event.queryStringParameters = h.queryStringParameters;
      event.multiValueQueryStringParameters = h.multiValueQueryStringParameters;
    }
  }
  if (extra.body !== undefined) event.body = extra.body;
  return event;
}

/** Headers and query string of the upgrade request, in the event's single- and multi-value forms. */
export function handshakeOf(rawHeaders: readonly string[], query: string): Handshake {
  const h = headerMaps(rawHeaders);
  const q = queryMaps(query);
  const lookup: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    const value = rawHeaders[i + 1];
    if (name === undefined || value === undefined) break;
    const prev = lookup[name];
    lookup[name] = prev === undefined ? value : `${prev}, ${value}`;
  }
  return { headers: h.single, lookup, multiValueHeaders: h.multi, queryStringParameters: q?.single, multiValueQueryStringParameters: q?.multi };
}
