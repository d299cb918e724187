import { z } from 'zod';

/**
 * The Turnpike configuration file, as validated. Every capability adds its fields here, in its own block,
 * so that `turnpike validate` checks the whole file in one pass and reports every problem at once.
 */

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export type RouteMethod = HttpMethod | 'ANY';

/** `METHOD /path` with literal, `{param}` and a trailing greedy `{name+}` segment. */
export const ROUTE_KEY = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) (\/(?:[^\s/{}]+|\{[A-Za-z_][A-Za-z0-9_]*\})?(?:\/(?:[^\s/{}]+|\{[A-Za-z_][A-Za-z0-9_]*\}))*(?:\/\{[A-Za-z_][A-Za-z0-9_]*\+\})?)$/;

const Millis = (min: number, max: number, dflt: number) => z.number().int().min(min).max(max).default(dflt);
const HeaderMap = z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid HTTP header name'), z.string());

// ---- integrations -------------------------------------------------------------------------------

export const HttpProxyIntegration = z.strictObject({
  type: z.literal('http_proxy'),
  /** Upstream URL template: `{param}`, `{proxy}` and `${stageVariables.x}` are substituted per request. */
  uri: z.string().min(1),
  /** Overrides the client's method (AWS `httpMethod`); default passes the client's through. */
  method: z.enum(HTTP_METHODS).optional(),
  timeoutMs: Millis(50, 29_000, 29_000),
  /** Extra request headers for the upstream; values may use `${stageVariables.x}` and `${context.authorizer.x}`. */
  requestHeaders: HeaderMap.default({}),
});

export const MockIntegration = z.strictObject({
  type: z.literal('mock'),
  statusCode: z.number().int().min(100).max(599).default(200),
  headers: HeaderMap.default({}),
  body: z.string().default(''),
});

export const Integration = z.discriminatedUnion('type', [HttpProxyIntegration, MockIntegration]);
export type IntegrationConfig = z.output<typeof Integration>;
export type HttpProxyIntegrationConfig = z.output<typeof HttpProxyIntegration>;
export type MockIntegrationConfig = z.output<typeof MockIntegration>;

// ---- APIs ---------------------------------------------------------------------------------------

export const Route = z.strictObject({
  integration: Integration,
  apiKeyRequired: z.boolean().default(false),
});
export type RouteConfig = z.output<typeof Route>;

const StageName = z.string().regex(/^(\$default|[A-Za-z0-9_-]{1,128})$/, 'stage names are $default or letters, digits, - and _');
export const Stage = z.strictObject({
  variables: z.record(z.string().regex(/^[A-Za-z0-9_]+$/, 'stage variable names are letters, digits and _'), z.string()).default({}),
});

const BasePath = z
  .string()
  .regex(/^\/([A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*)?$/, 'a base path is / or /segment[/segment...] without a trailing slash');

export const Api = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'API names are letters, digits, ., - and _'),
    /** AWS-style API id used in ARNs and request contexts; defaults to the name. */
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    type: z.enum(['rest']).default('rest'),
    basePath: BasePath.default('/'),
    /** Host names (without port) this API answers; empty means any host. */
    hosts: z.array(z.string().min(1).transform((h) => h.toLowerCase())).default([]),
    stages: z.record(StageName, Stage).default({ $default: { variables: {} } }),
    /** Routes may also come from an OpenAPI document; routes written here win over imported ones. */
    openapi: z.string().optional(),
    routes: z.record(z.string().regex(ROUTE_KEY, 'a route key is "METHOD /path" (METHOD one of GET POST PUT PATCH DELETE HEAD OPTIONS ANY; a greedy {name+} only last)'), Route).default({}),
    binaryMediaTypes: z.array(z.string()).default([]),
  })
  .superRefine((api, ctx) => {
    if (Object.keys(api.stages).length === 0) ctx.addIssue({ code: 'custom', path: ['stages'], message: 'an API needs at least one stage' });
    if (!api.openapi && Object.keys(api.routes).length === 0) ctx.addIssue({ code: 'custom', path: ['routes'], message: 'an API needs routes or an openapi document' });
  });
export type ApiConfig = z.output<typeof Api>;

// ---- the gateway --------------------------------------------------------------------------------

export const Gateway = z.strictObject({
  region: z.string().regex(/^[a-z0-9-]+$/).default('us-east-1'),
  accountId: z.string().regex(/^\d{12}$/, 'an account id is 12 digits').default('000000000000'),
  listen: z.strictObject({ host: z.string().default('0.0.0.0'), port: z.number().int().min(0).max(65535).default(8080) }).default({ host: '0.0.0.0', port: 8080 }),
  /** /healthz, /readyz and /metrics, kept off the user-facing port so no API route can shadow them. */
  management: z.strictObject({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(9090) }).default({ host: '127.0.0.1', port: 9090 }),
  maxBodyBytes: z.number().int().min(0).default(10 * 1024 * 1024),
  shutdownGraceMs: Millis(0, 600_000, 10_000),
  redis: z.strictObject({ url: z.string().default('redis://127.0.0.1:6379'), keyPrefix: z.string().default('tp') }).default({ url: 'redis://127.0.0.1:6379', keyPrefix: 'tp' }),
});
export type GatewayConfig = z.output<typeof Gateway>;

export const TurnpikeFile = z.strictObject({
  turnpike: z.literal(1).default(1),
  gateway: Gateway.default(Gateway.parse({})),
  apis: z.array(Api).min(1, 'at least one API is needed'),
});
export type TurnpikeFileConfig = z.output<typeof TurnpikeFile>;
