import type { EdgeMetrics } from '../../services/metrics/edgeMetrics.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { AuthRequest } from '../../services/authorization/authRequest.js';

/** A RequestContext seen as an AuthRequest, reading its fields on demand. */
export class HttpAuthRequest implements AuthRequest {
  constructor(
    private readonly ctx: RequestContext,
    private readonly metrics: EdgeMetrics | null,
  ) {}
  onCacheLookup(hit: boolean): void {
    this.metrics?.authorizerCache(this.ctx, hit);
  }
  get requestId() {
    return this.ctx.requestId;
  }
  get method() {
    return this.ctx.method;
  }
  get path() {
    return pathBelow(this.ctx.path, this.ctx.routeOffset);
  }
  get fullPath() {
    return this.ctx.path;
  }
  get resourcePath() {
    return this.ctx.route!.resourcePath;
  }
  get routeKey() {
    return this.ctx.route!.routeKey;
  }
  get headers() {
    return this.ctx.headers;
  }
  get rawHeaders() {
    return this.ctx.rawHeaders;
  }
  get query() {
    return this.ctx.query;
  }
  get pathParameters() {
    return this.ctx.params;
  }
  get apiId() {
    return this.ctx.api.id;
  }
  get stage() {
    return this.ctx.stage.name;
  }
  get stageVariables() {
    return this.ctx.stage.variables;
  }
  get sourceIp() {
    return this.ctx.sourceIp;
  }
  get domainName() {
    return this.ctx.host;
  }
  get requestTimeEpoch() {
    return this.ctx.startTime;
  }
}

/** `path` without its first `segments` segments (base path and stage): `/shop/prod/pets/1`, 2 → `/pets/1`. */
export function pathBelow(path: string, segments: number): string {
  let i = 0;
  for (let n = 0; n < segments; n++) {
    i = path.indexOf('/', i + 1);
    if (i < 0) return '/';
  }
  return path.slice(i) || '/';
}
