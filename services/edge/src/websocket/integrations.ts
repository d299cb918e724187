import type { Agent } from 'undici';
import type { FunctionIntegrationConfig, HttpProxyIntegrationConfig, IntegrationConfig, MockIntegrationConfig } from '@turnpike/config';
import type { FunctionInvoker } from '../integrations/function/invoker.js';
import { compileUri, type CompiledUri } from '../integrations/httpProxy/uriTemplate.js';
import type { ApiStage } from '../router/routeTable.js';
import type { WebSocketEvent } from './events.js';

/**
 * What a WebSocket route's integration answered: the status decides whether `$connect` is accepted,
 * the body is the route response, and a function may subscribe the connection to topics.
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
}

export interface WsIntegration {
  invoke(call: WsCall): Promise<WsResult>;
}

export interface WsIntegrationDeps {
  readonly agent: Agent;
  /** Read per call: the function runtime may be wired into the edge after the routes are compiled. */
  readonly invoker: FunctionInvoker;
}

export function buildWsIntegration(config: IntegrationConfig, stages: Iterable<ApiStage>, deps: WsIntegrationDeps): WsIntegration {
  switch (config.type) {
    case 'function':
      return new FunctionWsIntegration(config, deps);
    case 'http_proxy':
      return new HttpWsIntegration(config, stages, deps.agent);
    case 'mock':
      return new MockWsIntegration(config);
    case 'http':
      // The config schema refuses mapped (non-proxy) integrations on WebSocket routes.
      throw new Error('a non-proxy http integration cannot serve a WebSocket route');
  }
}

/** The integration could not run at all (no function runtime, upstream unreachable): a gateway fault. */
export class WsIntegrationError extends Error {
  readonly code = 'TP_WS_INTEGRATION';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const EMPTY_OK: WsResult = { statusCode: 200, body: null, protocol: null, subscribe: null, unsubscribe: null };

class FunctionWsIntegration implements WsIntegration {
  constructor(
    private readonly config: FunctionIntegrationConfig,
    private readonly deps: WsIntegrationDeps,
  ) {}

  async invoke(call: WsCall): Promise<WsResult> {
    const result = await this.deps.invoker.invoke(this.config.function, call.event, { requestId: call.requestId, timeoutMs: this.config.timeoutMs });
    return readFunctionResult(result);
  }
}

/**
 * Lambda's WebSocket result: `{statusCode, body, headers}` or nothing (accepted, no response). A plain
 * string or other value is the route response itself. `subscribe` / `unsubscribe` (topic names) are
 * Turnpike's addition.
 */
export function readFunctionResult(r: unknown): WsResult {
  if (r === undefined || r === null) return EMPTY_OK;
  if (typeof r === 'string') return { ...EMPTY_OK, body: r };
  if (typeof r !== 'object' || Array.isArray(r)) return { ...EMPTY_OK, body: JSON.stringify(r) };
  const o = r as Record<string, unknown>;
  const status = typeof o.statusCode === 'string' ? Number(o.statusCode) : o.statusCode;
  const statusCode = typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599 ? status : 200;
  let body: string | Buffer | null = null;
  if (typeof o.body === 'string') body = o.isBase64Encoded === true ? Buffer.from(o.body, 'base64') : o.body;
  else if (o.body !== undefined && o.body !== null) body = JSON.stringify(o.body);
  else if (!('statusCode' in o) && !('subscribe' in o) && !('unsubscribe' in o)) body = JSON.stringify(o);
  let protocol: string | null = null;
  if (typeof o.headers === 'object' && o.headers !== null) {
    for (const [k, v] of Object.entries(o.headers as Record<string, unknown>)) if (k.toLowerCase() === 'sec-websocket-protocol' && typeof v === 'string') protocol = v;
  }
  return { statusCode, body, protocol, subscribe: strings(o.subscribe), unsubscribe: strings(o.unsubscribe) };
}

function strings(v: unknown): string[] | null {
  if (!Array.isArray(v)) return null;
  return v.filter((x): x is string => typeof x === 'string');
}

/**
 * HTTP integration: the message body is POSTed to the upstream (empty for connect / disconnect); the
 * connection and route travel in headers the backend can read. The upstream's status decides `$connect`,
 * its body is the route response.
 */
class HttpWsIntegration implements WsIntegration {
  private readonly uris = new Map<string, CompiledUri>();

  constructor(
    private readonly config: HttpProxyIntegrationConfig,
    stages: Iterable<ApiStage>,
    private readonly agent: Agent,
  ) {
    for (const s of stages) this.uris.set(s.name, compileUri(config.uri, s.variables, NO_PARAMS));
  }

  async invoke(call: WsCall): Promise<WsResult> {
    const uri = this.uris.get(call.stage.name)!;
    const ctx = call.event.requestContext;
    const headers: Record<string, string> = {
      ...this.config.requestHeaders,
      'x-amzn-connection-id': String(ctx.connectionId),
      'x-amzn-route-key': String(ctx.routeKey),
      'x-amzn-event-type': String(ctx.eventType),
      'x-amzn-requestid': call.requestId,
      'content-type': typeof call.payload === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream',
    };
    let res;
    try {
      res = await this.agent.request({
        origin: uri.origin,
        path: uri.pathParts[0]! + (uri.query ? '?' + uri.query : ''),
        method: this.config.method ?? 'POST',
        headers,
        body: call.payload ?? '',
        headersTimeout: this.config.timeoutMs,
        bodyTimeout: this.config.timeoutMs,
      });
    } catch (err) {
      throw new WsIntegrationError(`upstream ${uri.origin} failed: ${(err as Error).message}`, 502);
    }
    const buf = Buffer.from(await res.body.arrayBuffer());
    return { ...EMPTY_OK, statusCode: res.statusCode, body: buf.length ? buf.toString('utf8') : null };
  }
}

const NO_PARAMS: ReadonlySet<string> = new Set();

class MockWsIntegration implements WsIntegration {
  private readonly result: Promise<WsResult>;
  constructor(config: MockIntegrationConfig) {
    this.result = Promise.resolve({ ...EMPTY_OK, statusCode: config.statusCode, body: config.body || null });
  }
  invoke(): Promise<WsResult> {
    return this.result;
  }
}
