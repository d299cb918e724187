import type { EdgeMetrics } from '../../observe/edgeMetrics.js';
import type { RequestContext } from '../../pipeline/context.js';

/**
 * What an authorizer may read about a request. The HTTP pipeline adapts its RequestContext; the
 * WebSocket `$connect` route builds one from the upgrade request. Names are lowercased.
 */
export interface AuthRequest {
  readonly requestId: string;
  readonly method: string;
  /** The path below the stage, as received (`/pets/42`); what method ARNs name. */
  readonly path: string;
  /** The whole request path (`/prod/pets/42`), for `requestContext.path`. */
  readonly fullPath: string;
  /** The route's resource template (`/pets/{id}`, or `$connect`). */
  readonly resourcePath: string;
  /** `GET /pets/{id}` (or `$connect`), for payload 2.0 events. */
  readonly routeKey: string;
  readonly headers: Readonly<Record<string, string>>;
  /** name, value, name, value... with repeated headers kept apart. */
  readonly rawHeaders: readonly string[];
  /** The query string without `?`. */
  readonly query: string;
  readonly pathParameters: Readonly<Record<string, string>> | null;
  readonly apiId: string;
  readonly stage: string;
  readonly stageVariables: Readonly<Record<string, string>>;
  readonly sourceIp: string;
  readonly domainName: string;
  readonly requestTimeEpoch: number;
  /** Told about each policy-cache lookup (hit: the authorizer did not run), for metrics. */
  onCacheLookup?(hit: boolean): void;
}

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
