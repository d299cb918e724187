import type { UpstreamAgent } from './httpProxy/upstreamAgent.js';
import type { IntegrationConfig } from '@turnpike/config';
import type { ApiStage } from '../router/routeTable.js';
import type { WebSocketEvent } from '../websocket/events.js';
import { FunctionInvokeError, type FunctionInvoker } from '../services/invoker/invoker.js';
import { FunctionWsIntegration } from './function/webSocketFunction.js';
import { HttpWsIntegration } from './httpProxy/webSocketProxy.js';
import { MockWsIntegration } from './mock/mock.js';

/**
 * The integrations of WebSocket routes: the same three as REST routes (function, http_proxy, mock), built
 * from the same compiled pieces (URI and header templates, the invoker, the mock response), answering
 * an event instead of a client request. The status decides whether `$connect` is accepted, the body
 * is the route response, and a function may subscribe the connection to topics.
 */
export interface WsResult {
  readonly statusCode: number;
  readonly body: string | Buffer | null;
  /** `Sec-WebSocket-Protocol` a `$connect` integration selected. */
  readonly protocol: string | null;
  readonly subscribe: readonly string[] | null;
  readonly unsubscribe: readonly string[] | null;
}

export interface WsCall {
  readonly event: WebSocketEvent;
  readonly stage: ApiStage;
  readonly requestId: string;
  /** The raw message (messages only), for HTTP integrations, which post it as is. */
  readonly payload: Buffer | string | null;
  readonly sourceIp: string;
  /** What the `$connect` authorizer returned (principalId + context), for `${context.authorizer.x}`. */
  readonly authorizer: Record<string, unknown> | null;
}

export interface WsIntegration {
  invoke(call: WsCall): Promise<WsResult>;
}

export interface WsIntegrationDeps {
  readonly agent: UpstreamAgent;
  /** Read per call: the function runtime may be wired into the edge after the routes are compiled. */
  readonly invoker: FunctionInvoker;
}

export const EMPTY_OK: WsResult = { statusCode: 200, body: null, protocol: null, subscribe: null, unsubscribe: null };

/** `maxResponseBytes` bounds what an HTTP integration's upstream may answer (the route response is one message). */
export function buildWsIntegration(config: IntegrationConfig, stages: Iterable<ApiStage>, maxResponseBytes: number, deps: WsIntegrationDeps): WsIntegration {
  switch (config.type) {
    case 'function':
      return new FunctionWsIntegration(config, deps.invoker);
    case 'http_proxy':
      return new HttpWsIntegration(config, stages, maxResponseBytes, deps.agent.get());
    case 'mock':
      return new MockWsIntegration(config);
    case 'http':
      // The config schema refuses mapped (non-proxy) integrations on WebSocket routes.
      throw new Error('a non-proxy http integration cannot serve a WebSocket route');
  }
}

/** The integration could not run at all (upstream unreachable, an answer too big): a gateway fault. */
export class WsIntegrationError extends Error {
  readonly code = 'TP_WS_INTEGRATION';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The status logged (and, for `$connect`, answered) when an integration failed. */
export function wsFailureStatus(err: unknown): number {
  if (err instanceof WsIntegrationError) return err.status;
  if (err instanceof FunctionInvokeError) return err.kind === 'integration_timeout' || err.kind === 'function_timeout' ? 504 : err.kind === 'unavailable' ? 503 : 502;
  return 500;
}
