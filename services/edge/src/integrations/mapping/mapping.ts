import type { IntegrationResponseConfig, MappingConfig } from '@turnpike/config';
import type { Logger } from 'pino';
import type { RequestContext } from '../../pipeline/context.js';
import type { CompiledRoute } from '../../router/routeTable.js';
import { JsonPaths } from './jsonPath.js';
import { binaryMatcher } from '../function/proxyEvent.js';
import { MappingTemplate, TemplateInput, UTIL, templateContext, type TemplateContext } from './vtl.js';

/**
 * API Gateway's integration request and response mapping, compiled once per route:
 * - request: the template for the request's content type (no Content-Type means application/json); with
 *   none, `passthroughBehavior` passes the body through (WHEN_NO_MATCH; WHEN_NO_TEMPLATES when there are no
 *   templates at all) or answers 415 Unsupported Media Type;
 * - response: the first integration response whose `selectionPattern` matches the whole selector (the
 *   status code of an http or mock integration, a function's error message), else the default one; its
 *   template for the client's Accept type (else application/json, else the first), its header parameters,
 *   then `$context.responseOverride` as the template set it.
 */
export class CompiledMapping {
  private readonly requestTemplates: ReadonlyMap<string, MappingTemplate>;
  private readonly passthrough: boolean;
  private readonly responses: readonly CompiledResponse[];
  private readonly fallback: CompiledResponse | null;
  private readonly isBinary: (contentType: string | undefined) => boolean;
  private readonly contentHandling: MappingConfig['contentHandling'];
  private readonly paths = new JsonPaths();

  constructor(
    config: MappingConfig,
    private readonly route: CompiledRoute,
    private readonly accountId: string,
    logger: Logger,
  ) {
    this.requestTemplates = new Map(Object.entries(config.requestTemplates).map(([type, text]) => [type.toLowerCase(), new MappingTemplate(text, logger)]));
    const b = config.passthroughBehavior;
    this.passthrough = b === 'WHEN_NO_MATCH' || (b === 'WHEN_NO_TEMPLATES' && this.requestTemplates.size === 0);
    const compiled = config.responses.map((r) => compileResponse(r, logger));
    this.responses = compiled.filter((r) => r.pattern !== null);
    this.fallback = compiled.find((r) => r.pattern === null) ?? null;
    this.isBinary = binaryMatcher(route.api.config.binaryMediaTypes);
    this.contentHandling = config.contentHandling;
  }

  /** A binary body (one of the API's binaryMediaTypes) becomes base64 text with CONVERT_TO_TEXT. */
  private requestText(body: Buffer, contentType: string | undefined): string {
    if (this.contentHandling === 'CONVERT_TO_TEXT' && this.isBinary(contentType)) return body.toString('base64');
    return body.toString('utf8');
  }

  /** The integration request body, or null when the request was answered (415). */
  mapRequest(ctx: RequestContext, body: Buffer | null): MappedRequest | null {
    const raw = body === null ? '' : this.requestText(body, ctx.headers['content-type']);
    const context = templateContext(ctx, this.route.resourcePath, this.route.api.id, this.accountId);
    const template = this.requestTemplates.get(mediaType(ctx.headers['content-type']) ?? 'application/json');
    if (template !== undefined) {
      return { body: template.render({ input: new TemplateInput(raw, ctx, this.paths), util: UTIL, context, stageVariables: ctx.stage.variables }), context };
    }
    if (!this.passthrough) {
      ctx.gatewayError('UNSUPPORTED_MEDIA_TYPE');
      return null;
    }
    // CONVERT_TO_BINARY: a passed-through base64 body reaches the integration decoded.
    return { body: this.contentHandling === 'CONVERT_TO_BINARY' ? Buffer.from(raw, 'base64') : raw, context };
  }

  /**
   * Answers with the integration response `selector` selects (null: the default), rendering the
   * integration's payload. Without a matching or default response the method has no mapping: 500, as on AWS.
   */
  respond(ctx: RequestContext, selector: string | null, payload: string, integrationHeaders: Readonly<Record<string, string>>, context: TemplateContext): void {
    const response = (selector === null ? undefined : this.responses.find((r) => r.pattern!.test(selector))) ?? this.fallback;
    if (response === null) {
      ctx.fail(new Error(`no integration response matches "${selector}" and there is no default one`), 'API_CONFIGURATION_ERROR');
      return;
    }
    const input = new TemplateInput(payload, ctx, this.paths);
    const chosen = response.templateFor(ctx.headers.accept);
    let text = payload;
    let contentType = chosen?.[0] ?? integrationHeaders['content-type'] ?? 'application/json';
    if (chosen !== undefined) text = chosen[1].render({ input, util: UTIL, context, stageVariables: ctx.stage.variables });
    let body: string | Buffer = text;
    if (response.contentHandling === 'CONVERT_TO_BINARY') body = Buffer.from(unquoted(text).trim(), 'base64');
    else if (response.contentHandling === 'CONVERT_TO_TEXT' && this.isBinary(contentType)) body = Buffer.from(text, 'latin1').toString('base64');
    const headers: string[] = [];
    for (const [name, source] of response.parameters) {
      const v = parameterValue(source, integrationHeaders, input, this.paths);
      if (v === undefined) continue;
      if (name === 'content-type') contentType = v;
      else headers.push(name, v);
    }
    for (const [name, v] of Object.entries(context.responseOverride.header)) {
      if (name.toLowerCase() === 'content-type') contentType = String(v);
      else headers.push(name.toLowerCase(), String(v));
    }
    headers.push('content-type', contentType);
    const override = Number(context.responseOverride.status);
    ctx.respond(Number.isInteger(override) && override >= 100 && override <= 599 ? override : response.statusCode, headers, body);
  }
}

export interface MappedRequest {
  readonly body: string | Buffer;
  /** Carried to the response templates: `$context.requestOverride` / `responseOverride` set by the request template. */
  readonly context: TemplateContext;
}

interface CompiledResponse {
  readonly pattern: RegExp | null;
  readonly contentHandling: IntegrationResponseConfig['contentHandling'];
  readonly statusCode: number;
  readonly parameters: readonly (readonly [string, string])[];
  templateFor(accept: string | undefined): readonly [string, MappingTemplate] | undefined;
}

function compileResponse(r: IntegrationResponseConfig, logger: Logger): CompiledResponse {
  const templates = Object.entries(r.responseTemplates).map(([type, text]) => [type.toLowerCase(), new MappingTemplate(text, logger)] as const);
  const json = templates.find(([t]) => t === 'application/json');
  return {
    // Java's String.matches, which API Gateway uses: the whole selector must match.
    pattern: r.selectionPattern === undefined || r.selectionPattern === '' ? null : new RegExp(`^(?:${r.selectionPattern})$`),
    statusCode: r.statusCode,
    contentHandling: r.contentHandling,
    parameters: Object.entries(r.responseParameters).map(([k, v]) => [k.slice('method.response.header.'.length).toLowerCase(), v] as const),
    templateFor(accept) {
      if (templates.length === 0) return undefined;
      if (accept !== undefined) {
        for (const part of accept.split(',')) {
          const t = mediaType(part);
          const hit = templates.find(([type]) => type === t);
          if (hit) return hit;
        }
      }
      return json ?? templates[0];
    },
  };
}

/** `'static'`, `integration.response.header.NAME`, `integration.response.body` or `integration.response.body.JSONPATH`. */
function parameterValue(source: string, headers: Readonly<Record<string, string>>, input: TemplateInput, paths: JsonPaths): string | undefined {
  if (source.length >= 2 && source.startsWith("'") && source.endsWith("'")) return source.slice(1, -1);
  if (source.startsWith('integration.response.header.')) return headers[source.slice(28).toLowerCase()];
  if (source === 'integration.response.body') return input.body;
  if (source.startsWith('integration.response.body.')) {
    const v = paths.evaluate(input.path('$'), `$.${source.slice(26)}`);
    return v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
  }
  return undefined;
}

/** A function's payload is JSON: a returned base64 string arrives quoted. */
function unquoted(text: string): string {
  if (text.startsWith('"')) {
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v === 'string') return v;
    } catch {
      /* not a JSON string */
    }
  }
  return text;
}

function mediaType(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const semi = header.indexOf(';');
  const t = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  return t || undefined;
}
