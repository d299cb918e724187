import type { RequestContext } from '../../pipeline/context.js';
import { CONTINUE, STOP, type Stage, type StageResult } from '../../pipeline/stage.js';
import type { CompiledApi } from '../../router/routeTable.js';
import { CorsPolicy } from './corsPolicy.js';

/**
 * CORS as API Gateway HTTP APIs do it, before routing: the gateway answers preflight requests itself
 * (the integration never sees them), and every other response, gateway errors included, carries the
 * CORS headers through `ctx.extraHeaders`, so a browser script can read a 401, 429 or 502 too.
 * `Vary: Origin` is on every response, because what is sent depends on the Origin header.
 */
export class CorsStage implements Stage {
  readonly name = 'cors';
  readonly kind = 'check';
  /** Response headers for each allowed origin seen, built once (exact origins up front). */
  private readonly byOrigin = new Map<string, readonly string[]>();

  constructor(private readonly policy: CorsPolicy) {
    for (const o of policy.exactOrigins) this.byOrigin.set(o, this.responseHeaders(o));
    if (policy.anyOrigin) this.byOrigin.set('*', this.responseHeaders('*'));
  }

  run(ctx: RequestContext): StageResult {
    const origin = ctx.headers.origin;
    if (ctx.method === 'OPTIONS' && origin !== undefined) {
      const requested = ctx.headers['access-control-request-method'];
      if (requested !== undefined) return this.preflight(ctx, origin, requested);
    }
    const headers = origin === undefined || !this.policy.allows(origin) ? VARY_ONLY : this.headersFor(origin);
    ctx.extraHeaders = ctx.extraHeaders === null ? headers.slice() : ctx.extraHeaders.concat(headers);
    return CONTINUE;
  }

  private preflight(ctx: RequestContext, origin: string, method: string): StageResult {
    const p = this.policy;
    if (!p.allows(origin)) {
      // As API Gateway does: a plain 204 without CORS headers, which the browser treats as a refusal.
      ctx.errorMessage = `CORS preflight from origin ${origin} refused: origin not allowed`;
      ctx.respond(204, PREFLIGHT_VARY, EMPTY);
      return STOP;
    }
    const h = [...this.headersFor(origin)];
    h.push('access-control-allow-methods', p.allowMethods ?? method);
    const requestedHeaders = ctx.headers['access-control-request-headers'];
    const allowHeaders = p.allowHeaders ?? requestedHeaders;
    if (allowHeaders) h.push('access-control-allow-headers', allowHeaders);
    if (p.maxAge) h.push('access-control-max-age', p.maxAge);
    h.push('vary', 'Access-Control-Request-Method, Access-Control-Request-Headers');
    ctx.respond(204, h, EMPTY);
    return STOP;
  }

  private headersFor(origin: string): readonly string[] {
    const p = this.policy;
    // The schema refuses `*` with credentials, so `*` is always answered with `*`.
    if (p.anyOrigin) return this.byOrigin.get('*')!;
    const key = origin.toLowerCase();
    return this.byOrigin.get(key) ?? this.cache(key, this.responseHeaders(origin));
  }

  private cache(key: string, headers: readonly string[]): readonly string[] {
    // Wildcard subdomains can match without end; only a bounded number of them is kept.
    if (this.byOrigin.size < MAX_CACHED_ORIGINS) this.byOrigin.set(key, headers);
    return headers;
  }

  private responseHeaders(allowOrigin: string): readonly string[] {
    const p = this.policy;
    const h = ['access-control-allow-origin', allowOrigin];
    if (p.credentials) h.push('access-control-allow-credentials', 'true');
    if (p.exposeHeaders) h.push('access-control-expose-headers', p.exposeHeaders);
    h.push('vary', 'Origin');
    return Object.freeze(h);
  }
}

const MAX_CACHED_ORIGINS = 1024;
const VARY_ONLY: readonly string[] = Object.freeze(['vary', 'Origin']);
const PREFLIGHT_VARY: readonly string[] = Object.freeze(['vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers']);
const EMPTY = new Uint8Array(0);

/** API_STAGES factory: built only for APIs with a `cors` block. */
export function buildCors(api: CompiledApi): Stage | null {
  return api.config.cors ? new CorsStage(new CorsPolicy(api.config.cors)) : null;
}
