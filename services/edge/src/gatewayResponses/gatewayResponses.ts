import type { ApiConfig, GatewayResponseConfig } from '@turnpike/config';
import type { Logger } from 'pino';
import type { RequestContext } from '../pipeline/context.js';
import type { GatewayAnswer } from '../http/gatewayResponses.js';
import { MappingTemplate, UTIL, TemplateInput, templateContext } from '../integrations/mapping/vtl.js';
import { JsonPaths } from '../integrations/mapping/jsonPath.js';

type ResponseType = keyof NonNullable<ApiConfig['gatewayResponses']>;

/**
 * An API's `gatewayResponses` (`x-amazon-apigateway-gateway-responses`), compiled once per API: every
 * error the gateway itself answers comes with its response type and default answer
 * (http/gatewayResponses.ts), and the API's response for that type (else DEFAULT_4XX / DEFAULT_5XX) sets
 * its status, headers and body template (`$context.error.message`, `messageString`, `responseType`, the
 * request's `$context`); `x-amzn-ErrorType` stays the default's, as on AWS.
 */
export class GatewayResponses {
  private readonly byType: ReadonlyMap<ResponseType, Compiled>;
  private readonly paths = new JsonPaths();

  private constructor(byType: Map<ResponseType, Compiled>) {
    this.byType = byType;
  }

  /** null when the API customizes no gateway response, so a gateway error pays nothing. */
  static compile(config: NonNullable<ApiConfig['gatewayResponses']>, logger?: Logger): GatewayResponses | null {
    const entries = Object.entries(config) as [ResponseType, GatewayResponseConfig][];
    if (entries.length === 0) return null;
    return new GatewayResponses(new Map(entries.map(([type, r]) => [type, compile(r, logger)])));
  }

  /** The customized response for this answer, or null when its type (and DEFAULT_4XX/5XX) is not customised. */
  render(ctx: RequestContext, answer: GatewayAnswer): GatewayAnswer | null {
    const { type, status } = answer;
    const message = answer.message ?? '';
    const r = this.byType.get(type) ?? this.byType.get(status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX');
    if (r === undefined) return null;
    const context = templateContext(ctx, ctx.route?.resourcePath ?? '', ctx.api.id, '');
    context.error = { message, messageString: JSON.stringify(answer.message), responseType: type };
    const headers: string[] = [];
    for (const [name, source] of r.parameters) {
      const v = parameterValue(source, ctx, context);
      if (v !== undefined) headers.push(name, v);
    }
    const accepted = r.templateFor(ctx.headers.accept);
    const body = accepted ? accepted[1].render({ input: new TemplateInput('', ctx, this.paths), util: UTIL, context, stageVariables: ctx.stage.variables }) : answer.body;
    if (!headers.includes('content-type')) headers.push('content-type', accepted?.[0] ?? 'application/json');
    const at = answer.headers.indexOf('x-amzn-ErrorType');
    if (at >= 0) headers.push('x-amzn-ErrorType', answer.headers[at + 1]!);
    return { type, status: r.statusCode ?? status, message: answer.message, headers, body };
  }
}

interface Compiled {
  readonly statusCode: number | undefined;
  readonly parameters: readonly (readonly [string, string])[];
  templateFor(accept: string | undefined): readonly [string, MappingTemplate] | undefined;
}

function compile(r: GatewayResponseConfig, logger: Logger | undefined): Compiled {
  const templates = Object.entries(r.responseTemplates).map(([t, text]) => [t.toLowerCase(), new MappingTemplate(text, logger)] as const);
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
