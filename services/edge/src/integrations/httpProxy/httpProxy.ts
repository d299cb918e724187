import { amznTraceId, forwardedFor, forwardedPort, forwardedProto, forwardingHeaders } from '../../http/forwarded.js';
import type { Dispatcher } from 'undici';
import type { HttpProxyIntegrationConfig } from '@turnpike/config';
import { HOP_BY_HOP, connectionTokens } from '../../http/hopByHop.js';
import type { RequestContext } from '../../pipeline/context.js';
import { STOP, type Stage, type StageResult } from '../../pipeline/stage.js';
import { RouteBuildError, type CompiledRoute } from '../../router/routeTable.js';
import { compileUri, expandPath, type CompiledUri } from './uriTemplate.js';
import { compileHeader, expandHeader, expandQuery, joinQuery, type HeaderTemplate } from './headerTemplate.js';
import { ProxyExchange } from './proxyExchange.js';
import type { OriginPool, UpstreamPools } from './http1/upstreamPool.js';
import type { UpstreamAgent } from './upstreamAgent.js';

/**
 * What the lean client (http1/) needs of one stage's `http:` upstream: its pool, and the request-head
 * lines that are the same for every request (Host and the constant `requestHeaders`), serialized once.
 */
interface LeanTarget {
  readonly pool: OriginPool;
  /** `host: …\r\n` */
  readonly hostLine: string;
  /** Constant configured headers, serialized; the others are expanded per request. */
  readonly staticLines: string;
  readonly dynamic: readonly HeaderTemplate[];
}

/**
 * AWS's HTTP proxy integration: the client's request goes to the upstream with method, query, headers
 * (minus hop-by-hop ones) and body streamed through, and the upstream's answer streams back.
 *
 * An `http:` upstream with a request body held in memory (none, or up to `gateway.bodyBufferBytes`)
 * goes through the lean HTTP/1.1 client (http1/upstreamPool.ts): the request head is one string, built
 * from per-stage pre-serialized lines and the request's own headers. An `https:` upstream, or a body
 * streamed past `bodyBufferBytes`, goes through undici (docs/integrations.md, "Upstream connections").
 */
export class HttpProxyStage implements Stage {
  readonly name = 'integration.http_proxy';
  readonly kind = 'integration';
  private readonly uris: ReadonlyMap<string, CompiledUri>;
  private readonly headerTemplates: ReadonlyMap<string, readonly HeaderTemplate[]>;
  /** `requestQuery` per stage; empty for most routes. */
  private readonly queryTemplates: ReadonlyMap<string, readonly HeaderTemplate[]>;
  private readonly greedyName: string | null;
  /** Per stage, for `http:` upstreams; absent for `https:` ones (undici). */
  private readonly leanTargets: ReadonlyMap<string, LeanTarget>;

  constructor(
    route: CompiledRoute,
    private readonly config: HttpProxyIntegrationConfig,
    private readonly agent: UpstreamAgent,
    upstreams: UpstreamPools,
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
    const lean = new Map<string, LeanTarget>();
    for (const [stage, uri] of uris) {
      if (!uri.origin.startsWith('http:')) continue;
      const pool = upstreams.pool(uri.origin);
      let staticLines = '';
      const dynamic: HeaderTemplate[] = [];
      for (const t of headers.get(stage)!) {
        // A constant value is serialized once; one a request could not carry (CR, LF) stays dynamic and fails that request, as undici did.
        const only = t.parts.length === 1 ? t.parts[0] : undefined;
        if (only !== undefined && validHeader(t.name, only)) {
          if (only) staticLines += `${t.name}: ${only}\r\n`;
        } else dynamic.push(t);
      }
      lean.set(stage, { pool, hostLine: `host: ${pool.hostHeader}\r\n`, staticLines, dynamic });
    }
    this.leanTargets = lean;
    // A TLS upstream is always served by undici: loaded with the routes, not by their first request.
    if (lean.size < uris.size) agent.get();
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
    const queryTemplates = this.queryTemplates.get(ctx.stage.name)!;
    const query = joinQuery(joinQuery(uri.query, ctx.query), queryTemplates.length === 0 ? '' : expandQuery(queryTemplates, ctx));
    if (query) path += '?' + query;

    const lean = this.leanTargets.get(ctx.stage.name);
    const held = body === null ? null : body.buffered();
    if (lean !== undefined && (body === null || held !== null)) return this.dispatchLean(ctx, lean, path, held);

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
    this.agent.get().dispatch(options, exchange);
  }

  /** The request head as one latin1 string (undici writes its heads the same way) and the body held in memory. */
  private dispatchLean(ctx: RequestContext, target: LeanTarget, path: string, body: Buffer | null): void {
    // undici's request checks, kept: a path byte outside 0x21-0xFF or a header value with CR/LF/NUL fails the request (500).
    if (INVALID_PATH.test(path)) throw new Error('invalid upstream request path');
    const method = this.config.method ?? ctx.method;
    let head = `${method} ${path} HTTP/1.1\r\n${target.hostLine}`;
    const raw = ctx.rawHeaders;
    const drop = connectionTokens(ctx.headers.connection);
    const traced = ctx.trace !== null;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      const value = raw[i + 1];
      if (name === undefined || value === undefined) break; // rawHeaders alternates names and values: both always there
      // The client's Content-Length goes: the head declares the length of the body actually sent.
      if (HOP_BY_HOP.has(name) || name === 'host' || name === 'content-length' || FORWARDING.has(name) || (drop !== null && drop.has(name))) continue;
      if (traced && name === 'traceparent') continue;
      head += `${name}: ${value}\r\n`;
    }
    if (traced) head += `traceparent: ${this.childTraceparent(ctx)}\r\n`;
    head += `X-Forwarded-For: ${forwardedFor(ctx)}\r\nX-Forwarded-Proto: ${forwardedProto(ctx)}\r\nX-Forwarded-Port: ${forwardedPort(ctx)}\r\nX-Amzn-Trace-Id: ${amznTraceId(ctx)}\r\n`;
    const host = ctx.headers.host;
    if (host) head += `x-forwarded-host: ${host}\r\n`;
    head += target.staticLines;
    for (const t of target.dynamic) {
      const v = expandHeader(t, ctx);
      if (!v) continue;
      if (!validHeader(t.name, v)) throw new Error(`invalid value for upstream request header ${t.name}`);
      head += `${t.name}: ${v}\r\n`;
    }
    // As undici: a length for any body, and 0 for an empty one where the method expects a payload.
    if (body !== null && body.length > 0) head += `content-length: ${body.length}\r\n\r\n`;
    else head += PAYLOAD_METHODS.has(method) ? 'content-length: 0\r\n\r\n' : '\r\n';
    const timeoutMs = this.config.timeoutMs;
    target.pool.request(head, body, method === 'HEAD', timeoutMs, new ProxyExchange(ctx, timeoutMs));
  }

  private childTraceparent(ctx: RequestContext): string {
    return ctx.trace!.startChild('integration http_proxy', { 'turnpike.integration.type': 'http_proxy', 'server.address': this.uris.get(ctx.stage.name)!.origin }, 'client').traceparent;
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
    if (ctx.trace !== null) out.push('traceparent', this.childTraceparent(ctx));
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

/** undici's `invalidPathRegex`. */
const INVALID_PATH = /[^\u0021-\u00ff]/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_VALUE = /[\r\n\0]/;
/** Methods undici sends `content-length: 0` for when the body is empty. */
const PAYLOAD_METHODS = new Set(['POST', 'PUT', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);

function validHeader(name: string, value: string): boolean {
  return TOKEN.test(name) && !INVALID_VALUE.test(value);
}

export function buildHttpProxy(route: CompiledRoute, agent: UpstreamAgent, upstreams: UpstreamPools): Stage {
  const integration = route.config.integration;
  if (integration.type !== 'http_proxy') throw new RouteBuildError('not an http_proxy integration');
  return new HttpProxyStage(route, integration, agent, upstreams);
}
