import type { Agent, Dispatcher } from 'undici';
import type { HttpProxyIntegrationConfig } from '@turnpike/config';
import type { ApiStage } from '../../router/routeTable.js';
import { EMPTY_OK, WsIntegrationError, type WsCall, type WsIntegration, type WsResult } from '../webSocket.js';
import { compileHeader, expandHeader, type HeaderTemplate, type TemplateValues } from './headerTemplate.js';
import { compileUri, expandPath, type CompiledUri } from './uriTemplate.js';

const NO_PARAMS: ReadonlySet<string> = new Set();
const NO_HEADERS: Readonly<Record<string, string>> = {};

/**
 * A WebSocket route's HTTP integration: the message body is POSTed to the upstream (empty for connect /
 * disconnect); the connection and route travel in headers the backend can read, with the configured
 * `requestHeaders` compiled and expanded as on REST routes. The upstream's status decides `$connect`; its
 * body, read up to the API's message size, is the route response.
 */
export class HttpWsIntegration implements WsIntegration {
  private readonly uris = new Map<string, CompiledUri>();
  private readonly headerTemplates = new Map<string, readonly HeaderTemplate[]>();

  constructor(
    private readonly config: HttpProxyIntegrationConfig,
    stages: Iterable<ApiStage>,
    private readonly maxResponseBytes: number,
    private readonly agent: Agent,
  ) {
    for (const s of stages) {
      this.uris.set(s.name, compileUri(config.uri, s.variables, NO_PARAMS));
      this.headerTemplates.set(s.name, Object.entries(config.requestHeaders).map(([n, v]) => compileHeader(n.toLowerCase(), v, s.variables)));
    }
  }

  async invoke(call: WsCall): Promise<WsResult> {
    const uri = this.uris.get(call.stage.name)!;
    const ctx = call.event.requestContext;
    const headers: Record<string, string> = {};
    const templates = this.headerTemplates.get(call.stage.name)!;
    if (templates.length) {
      const principalId = call.authorizer?.principalId;
      // A message has no request headers, path or query string: `${request.*}` values are absent.
      const values: TemplateValues = { requestId: call.requestId, stage: call.stage, sourceIp: call.sourceIp, principalId: typeof principalId === 'string' ? principalId : null, authorizer: call.authorizer, headers: NO_HEADERS, params: null, query: '' };
      for (const t of templates) {
        const v = expandHeader(t, values);
        if (v) headers[t.name] = v;
      }
    }
    headers['x-amzn-connection-id'] = String(ctx.connectionId);
    headers['x-amzn-route-key'] = String(ctx.routeKey);
    headers['x-amzn-event-type'] = String(ctx.eventType);
    headers['x-amzn-requestid'] = call.requestId;
    headers['content-type'] = typeof call.payload === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream';
    let res: Dispatcher.ResponseData;
    try {
      res = await this.agent.request({
        origin: uri.origin,
        path: expandPath(uri, null, null, null) + (uri.query ? '?' + uri.query : ''),
        method: (this.config.method ?? 'POST') as Dispatcher.HttpMethod,
        headers,
        body: call.payload ?? '',
        headersTimeout: this.config.timeoutMs,
        bodyTimeout: this.config.timeoutMs,
      });
    } catch (err) {
      throw new WsIntegrationError(`upstream ${uri.origin} failed: ${(err as Error).message}`, 502);
    }
    const buf = await readBounded(res.body, this.maxResponseBytes, uri.origin);
    return { ...EMPTY_OK, statusCode: res.statusCode, body: buf.length ? buf.toString('utf8') : null };
  }
}

/** The upstream's body, refused (502) and its connection dropped once it passes `max` bytes. */
async function readBounded(body: Dispatcher.ResponseData['body'], max: number, origin: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > max) {
        body.destroy();
        throw new WsIntegrationError(`upstream ${origin} answered more than ${max} bytes`, 502);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof WsIntegrationError) throw err;
    throw new WsIntegrationError(`upstream ${origin} failed: ${(err as Error).message}`, 502);
  }
  return Buffer.concat(chunks, size);
}
