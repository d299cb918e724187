import type { Agent, Dispatcher } from 'undici';
import type { HttpIntegrationConfig } from '@turnpike/config';
import type { Logger } from 'pino';
import type { RequestContext } from '../../pipeline/context.js';
import { STOP, type Stage, type StageResult } from '../../pipeline/stage.js';
import type { CompiledRoute } from '../../router/routeTable.js';
import { compileHeader, expandHeader, expandQuery, joinQuery, type HeaderTemplate } from '../httpProxy/headerTemplate.js';
import { compileUri, expandPath, type CompiledUri } from '../httpProxy/uriTemplate.js';
import { CompiledMapping } from './mapping.js';
import { BufferedExchange } from './bufferedExchange.js';

/**
 * API Gateway's non-proxy `http` integration: the upstream gets the request template's output (or the
 * body passed through) with the route's query string and configured headers, not the client's headers;
 * its response is buffered (bufferedExchange.ts) and selected by status code (`selectionPattern`), then mapped. An upstream
 * that cannot be reached is 502, one that does not answer in time 504, as the proxy integration answers.
 */
export class MappedHttpStage implements Stage {
  readonly name = 'integration.http';
  readonly kind = 'integration';
  private readonly mapping: CompiledMapping;
  private readonly uris = new Map<string, CompiledUri>();
  private readonly headers = new Map<string, readonly HeaderTemplate[]>();
  private readonly queries = new Map<string, readonly HeaderTemplate[]>();

  constructor(
    route: CompiledRoute,
    private readonly config: HttpIntegrationConfig,
    private readonly agent: Agent,
    accountId: string,
    logger: Logger,
  ) {
    this.mapping = new CompiledMapping(config.mapping, route, accountId, logger);
    const paramNames = new Set([...route.resourcePath.matchAll(/\{([A-Za-z0-9_]+)\+?\}/g)].map((m) => m[1]!));
    for (const stage of route.api.stages.values()) {
      this.uris.set(stage.name, compileUri(config.uri, stage.variables, paramNames));
      this.headers.set(stage.name, Object.entries(config.requestHeaders).map(([n, v]) => compileHeader(n.toLowerCase(), v, stage.variables)));
      this.queries.set(stage.name, Object.entries(config.requestQuery).map(([n, v]) => compileHeader(n, v, stage.variables)));
    }
  }

  run(ctx: RequestContext): StageResult | Promise<StageResult> {
    if (ctx.body === null) return this.send(ctx, null);
    return ctx.body.readAll().then((b) => this.send(ctx, b));
  }

  private send(ctx: RequestContext, body: Buffer | null): StageResult {
    const mapped = this.mapping.mapRequest(ctx, body);
    if (mapped === null) return STOP;
    const uri = this.uris.get(ctx.stage.name)!;
    let path = expandPath(uri, ctx.params, null, null);
    const query = joinQuery(joinQuery(uri.query, ctx.query), expandQuery(this.queries.get(ctx.stage.name)!, ctx));
    if (query) path += '?' + query;
    const headers: string[] = ['content-type', ctx.headers['content-type'] ?? 'application/json'];
    for (const t of this.headers.get(ctx.stage.name)!) {
      const v = expandHeader(t, ctx);
      if (v) headers.push(t.name, v);
    }
    for (const [k, v] of Object.entries(mapped.context.requestOverride.header)) headers.push(k.toLowerCase(), String(v));
    const method = (this.config.method ?? ctx.method) as Dispatcher.HttpMethod;
    const started = performance.now();
    const fail = (err: unknown): void => {
      const code = (err as { code?: string }).code;
      ctx.fail(err, code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' ? 'INTEGRATION_TIMEOUT' : 'INTEGRATION_FAILURE');
    };
    const exchange = new BufferedExchange({
      answered: (statusCode, upstreamHeaders, text) => {
        ctx.integrationLatency = performance.now() - started;
        const h: Record<string, string> = {};
        for (const k in upstreamHeaders) {
          const v = upstreamHeaders[k];
          if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        try {
          this.mapping.respond(ctx, String(statusCode), text, h, mapped.context);
        } catch (err) {
          fail(err);
        }
      },
      failed: fail,
    });
    try {
      this.agent.dispatch(
        { origin: uri.origin, path, method, headers, body: method === 'GET' || method === 'HEAD' ? null : mapped.body, headersTimeout: this.config.timeoutMs, bodyTimeout: this.config.timeoutMs },
        exchange,
      );
    } catch (err) {
      fail(err);
    }
    return STOP;
  }
}
