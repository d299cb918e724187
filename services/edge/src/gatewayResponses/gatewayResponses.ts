import type { ApiConfig, GatewayResponseConfig } from '@turnpike/config';
import type { RequestContext } from '../pipeline/context.js';
import { MappingTemplate, UTIL, TemplateInput, templateContext } from '../integrations/mapping/vtl.js';
import { JsonPaths } from '../integrations/mapping/jsonPath.js';

type ResponseType = keyof NonNullable<ApiConfig['gatewayResponses']>;

/**
 * An API's `gatewayResponses` (`x-amazon-apigateway-gateway-responses`), compiled once per API: every
 * error the gateway itself answers (RequestContext.sendError) is classified into API Gateway's response
 * type, and the API's response for that type (else DEFAULT_4XX / DEFAULT_5XX) sets its status, headers
 * and body template (`$context.error.message`, `messageString`, `responseType`, the request's `$context`).
 */
export class GatewayResponses {
  private readonly byType: ReadonlyMap<ResponseType, Compiled>;
  private readonly paths = new JsonPaths();

  private constructor(byType: Map<ResponseType, Compiled>) {
    this.byType = byType;
  }

  /** null when the API customizes no gateway response, so sendError pays nothing. */
  static compile(config: NonNullable<ApiConfig['gatewayResponses']>): GatewayResponses | null {
    const entries = Object.entries(config) as [ResponseType, GatewayResponseConfig][];
    if (entries.length === 0) return null;
    return new GatewayResponses(new Map(entries.map(([type, r]) => [type, compile(r)])));
  }

  /** The customized response for this error, or null for API Gateway's default `{"message": ...}`. */
  render(ctx: RequestContext, status: number, message: string): { status: number; headers: string[]; body: string } | null {
    const type = responseType(status, message);
    const r = this.byType.get(type) ?? this.byType.get(status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX');
    if (r === undefined) return null;
    const context = templateContext(ctx, ctx.route?.resourcePath ?? '', ctx.api.id, '');
    context.error = { message, messageString: JSON.stringify(message), responseType: type };
    const headers: string[] = [];
    for (const [name, source] of r.parameters) {
      const v = parameterValue(source, ctx, context);
      if (v !== undefined) headers.push(name, v);
    }
    const accepted = r.templateFor(ctx.headers.accept);
    const body = accepted ? accepted[1].render({ input: new TemplateInput('', ctx, this.paths), util: UTIL, context, stageVariables: ctx.stage.variables }) : `{"message":${JSON.stringify(message)}}`;
    if (!headers.includes('content-type')) headers.push('content-type', accepted?.[0] ?? 'application/json');
    return { status: r.statusCode ?? status, headers, body };
  }
}

interface Compiled {
  readonly statusCode: number | undefined;
  readonly parameters: readonly (readonly [string, string])[];
  templateFor(accept: string | undefined): readonly [string, MappingTemplate] | undefined;
}

function compile(r: GatewayResponseConfig): Compiled {
  const templates = Object.entries(r.responseTemplates).map(([t, text]) => [t.toLowerCase(), new MappingTemplate(text)] as const);
  return {
    statusCode: r.statusCode,
    parameters: Object.entries(r.responseParameters).map(([k, v]) => [k.slice('gatewayresponse.header.'.length).toLowerCase(), v] as const),
    templateFor(accept) {
      if (templates.length === 0) return undefined;
      const wanted = accept?.split(',').map((p) => p.split(';')[0]!.trim().toLowerCase()) ?? [];
      return templates.find(([t]) => wanted.includes(t)) ?? templates.find(([t]) => t === 'application/json') ?? templates[0];
    },
  };
}

function parameterValue(source: string, ctx: RequestContext, context: Record<string, unknown>): string | undefined {
  if (source.startsWith("'")) return source.slice(1, -1);
  let m = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(source);
  if (m) {
    if (m[1] === 'header') return ctx.headers[m[2]!.toLowerCase()];
    if (m[1] === 'path') return ctx.params?.[m[2]!];
    return new URLSearchParams(ctx.query).get(m[2]!) ?? undefined;
  }
  m = /^stageVariables\.(.+)$/.exec(source);
  if (m) return ctx.stage.variables[m[1]!];
  let v: unknown = context;
  for (const part of source.slice('context.'.length).split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v === undefined || v === null ? undefined : String(v);
}

/** API Gateway's response type for an error the gateway answers, from its status and message. */
export function responseType(status: number, message: string): ResponseType {
  switch (status) {
    case 400:
      return message === 'Invalid request body' ? 'BAD_REQUEST_BODY' : message.startsWith('Missing required request parameters') ? 'BAD_REQUEST_PARAMETERS' : 'DEFAULT_4XX';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return message === 'Forbidden' ? 'INVALID_API_KEY' : message === 'Missing Authentication Token' ? 'MISSING_AUTHENTICATION_TOKEN' : 'ACCESS_DENIED';
    case 404:
      return 'RESOURCE_NOT_FOUND';
    case 413:
      return 'REQUEST_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 429:
      return message === 'Limit Exceeded' ? 'QUOTA_EXCEEDED' : 'THROTTLED';
    case 502:
      return 'INTEGRATION_FAILURE';
    case 504:
      return 'INTEGRATION_TIMEOUT';
    default:
      return status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX';
  }
}
