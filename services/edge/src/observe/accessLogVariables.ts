import { clfClock } from './clfTime.js';
import type { AccessLogVariable } from '@turnpike/config';
import type { ValueGetter } from '@turnpike/telemetry';
import type { RequestContext } from '../pipeline/context.js';

/**
 * What each `$context.*` access-log variable means for an HTTP request and for a WebSocket event. The
 * tables are typed by the config schema's variable list, so a variable the schema accepts cannot lack a
 * value here. No variable reads request headers other than the user agent: Authorization and x-api-key
 * values can never reach a log line.
 */

/** One WebSocket connect, message or disconnect, as the WebSocket edge reports it for the access log. */
export interface WebSocketLogEvent {
  readonly requestId: string;
  readonly connectionId: string;
  readonly eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  readonly apiId: string;
  readonly stage: string;
  /** `$connect`, `$default`, `sendMessage`... */
  readonly routeKey: string;
  readonly status: number;
  readonly sourceIp: string;
  readonly userAgent?: string | null;
  /** ms since the epoch when the event arrived. */
  readonly requestTimeEpoch: number;
  readonly responseLatency?: number;
  readonly integrationLatency?: number;
  readonly messageId?: string | null;
  readonly principalId?: string | null;
  readonly authorizer?: Record<string, unknown> | null;
  readonly errorMessage?: string | null;
  readonly responseLength?: number;
}

const ms = (v: number | undefined) => (v === undefined || v < 0 ? null : Math.round(v));

export function httpVariables(accountId: string): Record<AccessLogVariable, ValueGetter<RequestContext>> {
  const clfTime = clfClock();
  return {
    requestId: (c) => c.requestId,
    extendedRequestId: (c) => c.requestId,
    requestTime: (c) => clfTime(c.startTime),
    requestTimeEpoch: (c) => c.startTime,
    httpMethod: (c) => c.method,
    path: (c) => c.path,
    resourcePath: (c) => c.route?.resourcePath,
    routeKey: (c) => c.route?.routeKey,
    status: (c) => (c.status === 0 ? null : c.status),
    responseLength: (c) => c.responseBytes,
    responseLatency: (c) => Math.round(c.latencyMs >= 0 ? c.latencyMs : performance.now() - c.startHr),
    integrationLatency: (c) => ms(c.integrationLatency),
    'integration.latency': (c) => ms(c.integrationLatency),
    protocol: () => 'HTTP/1.1',
    domainName: (c) => c.host,
    stage: (c) => c.stage.name,
    apiId: (c) => c.api.id,
    accountId: () => accountId,
    'identity.sourceIp': (c) => c.sourceIp,
    'identity.userAgent': (c) => c.headers['user-agent'],
    'identity.apiKeyId': (c) => c.apiKeyId,
    'authorizer.principalId': (c) => c.principalId,
    'error.message': (c) => c.errorMessage,
    connectionId: () => null,
    eventType: () => null,
    messageId: () => null,
    isCanaryRequest: (c) => (c.stage.isCanary ? 'true' : 'false'),
    deploymentId: (c) => c.api.config.deployment ?? null,
  };
}

export function webSocketVariables(accountId: string): Record<AccessLogVariable, ValueGetter<WebSocketLogEvent>> {
  const clfTime = clfClock();
  return {
    requestId: (e) => e.requestId,
    extendedRequestId: (e) => e.requestId,
    requestTime: (e) => clfTime(e.requestTimeEpoch),
    requestTimeEpoch: (e) => e.requestTimeEpoch,
    httpMethod: (e) => (e.eventType === 'CONNECT' ? 'GET' : null),
    path: () => null,
    resourcePath: () => null,
    routeKey: (e) => e.routeKey,
    status: (e) => e.status,
    responseLength: (e) => e.responseLength,
    responseLatency: (e) => ms(e.responseLatency),
    integrationLatency: (e) => ms(e.integrationLatency),
    'integration.latency': (e) => ms(e.integrationLatency),
    protocol: () => 'WebSocket',
    domainName: () => null,
    stage: (e) => e.stage,
    apiId: (e) => e.apiId,
    accountId: () => accountId,
    'identity.sourceIp': (e) => e.sourceIp,
    'identity.userAgent': (e) => e.userAgent,
    'identity.apiKeyId': () => null,
    'authorizer.principalId': (e) => e.principalId,
    'error.message': (e) => e.errorMessage,
    connectionId: (e) => e.connectionId,
    eventType: (e) => e.eventType,
    messageId: (e) => e.messageId,
    isCanaryRequest: () => null,
    deploymentId: () => null,
  };
}

/** A resolver for compileAccessLogFormat: the fixed table, then `authorizer.<key>` from the authorizer context. */
export function resolver<T extends { readonly authorizer?: Record<string, unknown> | null }>(table: Record<AccessLogVariable, ValueGetter<T>>) {
  return (name: string): ValueGetter<T> => {
    const fixed = (table as Record<string, ValueGetter<T> | undefined>)[name];
    if (fixed) return fixed;
    if (name.startsWith('authorizer.')) {
      const key = name.slice(11);
      return (t) => authorizerValue(t.authorizer?.[key]);
    }
    // The config schema refuses unknown variables; a format built in code gets the same answer.
    throw new Error(`unknown access-log variable $context.${name}`);
  };
}

function authorizerValue(v: unknown): string | number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' || typeof v === 'string') return v;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
