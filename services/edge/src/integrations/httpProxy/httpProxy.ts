import { forwardingHeaders } from '../../http/forwarded.js';
import type { Agent, Dispatcher } from 'undici';
import type { HttpProxyIntegrationConfig } from '@turnpike/config';
import { HOP_BY_HOP, connectionTokens } from '../../http/hopByHop.js';
import type { RequestContext } from '../../pipeline/context.js';
import { STOP, type Stage, type StageResult } from '../../pipeline/stage.js';
import { RouteBuildError, type CompiledRoute } from '../../router/routeTable.js';
import { compileUri, expandPath, type CompiledUri } from './uriTemplate.js';
import { compileHeader, expandHeader, expandQuery, joinQuery, type HeaderTemplate } from './headerTemplate.js';
import { ProxyExchange } from './proxyExchange.js';

/**
 * AWS's HTTP proxy integration: the client's request goes to the upstream with method, query, headers
 * (minus hop-by-hop ones) and body streamed through, and the upstream's answer streams back.
 */
export class HttpProxyStage implements Stage {
  readonly name = 'integration.http_proxy';
  readonly kind = 'integration';
  private readonly uris: ReadonlyMap<string, CompiledUri>;
  private readonly headerTemplates: ReadonlyMap<string, readonly HeaderTemplate[]>;
  /** `requestQuery` per stage; empty for most routes. */
  private readonly queryTemplates: ReadonlyMap<string, readonly HeaderTemplate[]>;
  private readonly greedyName: string | null;

  constructor(
    route: CompiledRoute,
    private readonly config: HttpProxyIntegrationConfig,
    private readonly agent: Agent,
  ) {
    const paramNames = new Set<string>();
    let greedy: string | null = null;
    for (const [, name, plus] of route.resourcePath.matchAll(/\{([A-Za-z0-9_]+)(\+?)\}/g)) {
      if (name === undefined) continue;
      paramNames.add(name);
      if (plus) greedy = name;
    }
    this.greedyName = greedy;
    const uris = new Map<string, CompiledUri>();
    const headers = new Map<string, HeaderTemplate[]>();
    const queries = new Map<string, HeaderTemplate[]>();
    for (const stage of route.api.stages.values()) {
      uris.set(stage.name, compileUri(config.uri, stage.variables, paramNames));
      headers.set(stage.name, Object.entries(config.requestHeaders).map(([n, v]) => compileHeader(n.toLowerCase(), v, stage.variables)));
      queries.set(stage.name, Object.entries(config.requestQuery).map(([n, v]) => compileHeader(n, v, stage.variables)));
    }
    this.uris = uris;
    this.headerTemplates = headers;
    this.queryTemplates = queries;
  }

  run(ctx: RequestContext): StageResult {
    const body = ctx.body;
    // The body is read (up to gateway.bodyBufferBytes) before an upstream connection is taken: a client
    // trickling its body holds its own socket, never a connection of the upstream's pool.
    if (body === null || body.complete) this.dispatch(ctx);
    else body.whenReady((err) => err === null && !ctx.responded && !ctx.aborted && this.dispatch(ctx));
    return STOP;
  }

  private dispatch(ctx: RequestContext): void {
    const uri = this.uris.get(ctx.stage.name)!;
    const body = ctx.body;
    const greedySegments = this.greedyName !== null && ctx.greedyStart >= 0 ? ctx.segments.slice(ctx.routeOffset + ctx.greedyStart) : null;
    let path = expandPath(uri, ctx.params, this.greedyName, greedySegments);
    const query = joinQuery(joinQuery(uri.query, ctx.query), expandQuery(this.queryTemplates.get(ctx.stage.name)!, ctx));
    if (query) path += '?' + query;

    const options: Dispatcher.DispatchOptions = {
      origin: uri.origin,
      path,
      method: (this.config.method ?? ctx.method) as Dispatcher.HttpMethod,
      headers: this.forwardHeaders(ctx),
      body: body === null ? null : (body.buffered() ?? body),
      headersTimeout: this.config.timeoutMs,
      bodyTimeout: this.config.timeoutMs,
    };
    const exchange = new ProxyExchange(ctx, this.config.timeoutMs);
    this.agent.dispatch(options, exchange);
  }

  private forwardHeaders(ctx: RequestContext): string[] {
    const raw = ctx.rawHeaders;
    const drop = connectionTokens(ctx.headers.connection);
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      const value = raw[i + 1];
      if (name === undefined || value === undefined) break;
      if (HOP_BY_HOP.has(name) || name === 'host' || FORWARDING.has(name) || drop?.has(name)) continue;
      if (name === 'traceparent' && ctx.trace !== null) continue;
      out.push(name, value);
    }
    // A traced request continues at the upstream under the integration span; an untraced one passes the client's traceparent through.
    if (ctx.trace !== null) out.push('traceparent', ctx.trace.startChild('integration http_proxy', { 'turnpike.integration.type': 'http_proxy', 'server.address': this.uris.get(ctx.stage.name)!.origin }, 'client').traceparent);
    out.push(...forwardingHeaders(ctx));
    // The client's Host, validated by the edge (hostHeader.ts): a name or address and a port, nothing else.
    const host = ctx.headers.host;
    if (host) out.push('x-forwarded-host', host);
    for (const t of this.headerTemplates.get(ctx.stage.name)!) {
      const v = expandHeader(t, ctx);
      if (v) out.push(t.name, v);
    }
    return out;
  }
}

/** Set by the edge (http/forwarded.ts), never passed through from the client as they are. */
const FORWARDING = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-host', 'x-amzn-trace-id']);

export function buildHttpProxy(route: CompiledRoute, agent: Agent): Stage {
  const integration = route.config.integration;
  if (integration.type !== 'http_proxy') throw new RouteBuildError('not an http_proxy integration');
  return new HttpProxyStage(route, integration, agent);
}
