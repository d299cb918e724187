import { Compile, parse } from 'velocityjs';
import type { Logger } from 'pino';
import { headerMaps, queryMaps } from '../../http/valueMaps.js';
import type { RequestContext } from '../../pipeline/context.js';
import { clfTime } from '../../observe/clfTime.js';
import type { JsonPaths } from './jsonPath.js';
import { compileTemplate, UnsupportedTemplate, type CompiledTemplate } from './vtlCompiler.js';

/**
 * API Gateway's mapping templates: Velocity (velocityjs's parser, as serverless-offline uses it) with the
 * `$input`, `$util`, `$context` and `$stageVariables` objects API Gateway gives a template. A template is
 * parsed and compiled into closures once, when its route is compiled (vtlCompiler.ts); a request pays only
 * for running them. A template the compiler does not support is rendered by velocityjs's interpreter,
 * with a fresh renderer each time (velocityjs's keeps loop scopes and `#break` between renders).
 */
export class MappingTemplate {
  private readonly asts: ReturnType<typeof parse>;
  private readonly compiled: CompiledTemplate | null = null;

  constructor(
    readonly text: string,
    logger?: Logger,
  ) {
    this.asts = parse(text);
    try {
      this.compiled = compileTemplate(this.asts);
    } catch (err) {
      // UnsupportedTemplate names what the compiler leaves to velocityjs; any other error is a parse-tree
      // shape it does not expect, which velocityjs still renders as it always has.
      const reason = err instanceof UnsupportedTemplate ? err.message : `an unexpected parse tree (${String(err)})`;
      logger?.debug({ event: 'vtl_interpreted', reason, template: text.slice(0, 200) }, `mapping template uses ${reason}: rendered by velocityjs's interpreter`);
    }
  }

  /** Whether the template runs compiled (false: velocityjs interprets it). */
  get isCompiled(): boolean {
    return this.compiled !== null;
  }

  render(vars: TemplateVariables): string {
    const v = vars as unknown as Record<string, unknown>;
    return this.compiled !== null ? this.compiled(v) : new Compile(this.asts, { escape: false }).render(v);
  }
}

/** What a template sees. `context` is mutable: templates set `$context.requestOverride.*` / `responseOverride.*`. */
export interface TemplateVariables {
  input: TemplateInput;
  util: typeof UTIL;
  context: TemplateContext;
  stageVariables: Readonly<Record<string, string>>;
}

export interface TemplateContext extends Record<string, unknown> {
  requestOverride: { header: Record<string, string>; querystring: Record<string, string>; path: Record<string, string> };
  responseOverride: { status?: number | string | null; header: Record<string, string> };
}

/** `$input`: the payload (the request's, or the integration response's in a response template) and the request's parameters. */
export class TemplateInput {
  private parsed: unknown = UNPARSED;
  private paramMaps: { path: Record<string, string>; querystring: Record<string, string>; header: Record<string, string> } | null = null;

  constructor(
    readonly body: string,
    private readonly ctx: RequestContext,
    private readonly paths: JsonPaths,
  ) {}

  private root(): unknown {
    if (this.parsed === UNPARSED) {
      try {
        this.parsed = this.body === '' ? {} : JSON.parse(this.body);
      } catch {
        // A payload that is not JSON is a string to JSONPath: `$` is the body itself.
        this.parsed = this.body;
      }
    }
    return this.parsed;
  }

  /** The value at a JSONPath, as an object templates can walk (`#foreach`, `.size()`). */
  path(p: string): unknown {
    return this.paths.evaluate(this.root(), String(p)) ?? '';
  }

  /** The value at a JSONPath as JSON text. */
  json(p: string): string {
    const v = this.paths.evaluate(this.root(), String(p));
    return v === undefined ? '' : JSON.stringify(v);
  }

  /** `params()`: every parameter by location; `params(name)`: a path, then query string, then header value. */
  params(name?: string): unknown {
    const maps = (this.paramMaps ??= {
      path: { ...this.ctx.params },
      querystring: queryMaps(this.ctx.query)?.single ?? {},
      header: headerCase(this.ctx.rawHeaders),
    });
    if (name === undefined) return maps;
    const n = String(name);
    return maps.path[n] ?? maps.querystring[n] ?? maps.header[n] ?? this.ctx.headers[n.toLowerCase()] ?? '';
  }
}
const UNPARSED = Symbol('unparsed');

/** Header names as the client sent them are not kept by uWS; templates look them up case-insensitively through params(name). */
function headerCase(raw: readonly string[]): Record<string, string> {
  return headerMaps(raw).single;
}

/**
 * `$util`: API Gateway's helper functions. Not frozen: velocityjs sets an `eval` helper on every object
 * whose method a template calls (rendering is synchronous, so sharing one object is safe).
 */
export const UTIL = {
  /** Java's StringEscapeUtils.escapeJavaScript, which API Gateway uses: quotes (both), backslash, slash, controls. */
  escapeJavaScript: (s: unknown) => JSON.stringify(String(s ?? '')).slice(1, -1).replace(/'/g, "\\'").replace(/\//g, '\\/'),
  parseJson: (s: unknown) => JSON.parse(String(s)) as unknown,
  /** Java's URLEncoder (form encoding): space is `+`, and `!'()~` are escaped. */
  urlEncode: (s: unknown) => encodeURIComponent(String(s ?? '')).replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+'),
  urlDecode: (s: unknown) => decodeURIComponent(String(s ?? '').replace(/\+/g, ' ')),
  base64Encode: (s: unknown) => Buffer.from(String(s ?? '')).toString('base64'),
  base64Decode: (s: unknown) => Buffer.from(String(s ?? ''), 'base64').toString('utf8'),
};

/** `$context` for one request, API Gateway's REST field names. */
export function templateContext(ctx: RequestContext, resourcePath: string, apiId: string, accountId: string): TemplateContext {
  const authorizer: Record<string, unknown> = { ...ctx.authorizer };
  if (ctx.principalId !== null) authorizer.principalId = ctx.principalId;
  return {
    accountId,
    apiId,
    authorizer,
    domainName: ctx.host,
    extendedRequestId: ctx.requestId,
    httpMethod: ctx.method,
    identity: { sourceIp: ctx.sourceIp, userAgent: ctx.headers['user-agent'] ?? '', apiKeyId: ctx.apiKeyId ?? '' },
    path: ctx.path,
    protocol: 'HTTP/1.1',
    requestId: ctx.requestId,
    requestTime: clfTime(ctx.startTime),
    requestTimeEpoch: ctx.startTime,
    resourceId: ctx.routeKey,
    resourcePath,
    stage: ctx.stage.name,
    requestOverride: { header: {}, querystring: {}, path: {} },
    responseOverride: { status: null, header: {} },
  };
}
