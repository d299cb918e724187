import { z } from 'zod';
import { createRequire } from 'node:module';
import { parseRedisUrl } from './redisUrl.js';
import { compileModel } from './jsonSchema.js';

/**
 * The Turnpike configuration file, as validated. Every capability adds its fields here, in its own block,
 * so that `turnpike validate` checks the whole file in one pass and reports every problem at once.
 */

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export type RouteMethod = HttpMethod | 'ANY';

/** `METHOD /path` with literal, `{param}` and a trailing greedy `{name+}` segment. */
const SEG = String.raw`(?:[^\s/{}]+|\{[A-Za-z_][A-Za-z0-9_]*\})`;
const GREEDY = String.raw`\{[A-Za-z_][A-Za-z0-9_]*\+\}`;
export const ROUTE_KEY = new RegExp(String.raw`^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) (\/|(?=\/)(?:\/${SEG})*(?:\/${GREEDY})?)$`);

const Millis = (min: number, max: number, dflt: number) => z.number().int().min(min).max(max).default(dflt);
const HeaderMap = z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid HTTP header name'), z.string());

// ---- integrations -------------------------------------------------------------------------------

const Regex = z.string().refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

/**
 * API Gateway's non-proxy integration mapping (`requestTemplates`, `passthroughBehavior`, `responses`):
 * Velocity templates by content type, and integration responses chosen by `selectionPattern`.
 * See docs/import.md.
 */
/**
 * velocityjs is loaded when the first template is checked, not with the config package: most configs have
 * none, and `turnpike validate` should not pay for a template engine they do not use.
 */
let velocityParse: ((text: string) => unknown) | null = null;
function parseVelocity(text: string): unknown {
  velocityParse ??= (createRequire(import.meta.url)('velocityjs') as typeof import('velocityjs')).parse;
  return velocityParse(text);
}

/** A Velocity template that parses: the edge compiles it with the same parser, so validate and edge agree. */
const VelocityTemplate = z.string().superRefine((text, ctx) => {
  try {
    parseVelocity(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a valid Velocity template: ${(err as Error).message.split('\n')[0]}` });
  }
});
const MediaTemplates = z.record(z.string().regex(/^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+*-]+$/, 'templates are keyed by a content type (type/subtype)'), VelocityTemplate);
export const IntegrationResponse = z.strictObject({
  /** Against the integration's status code (http, mock) or a function's error message; the one without is the default. */
  selectionPattern: Regex.optional(),
  statusCode: z.number().int().min(100).max(599),
  /** `method.response.header.NAME`: `'static'`, `integration.response.header.X`, `integration.response.body[.json.path]`. */
  responseParameters: z
    .record(
      z.string().regex(/^method\.response\.header\.[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a response parameter is method.response.header.NAME'),
      z.string().regex(/^(?:'[^]*'|integration\.response\.header\.\S+|integration\.response\.body(?:\.\S+)?)$/, "a response parameter's value is 'static', integration.response.header.NAME or integration.response.body[.JSONPATH]"),
    )
    .default({}),
  responseTemplates: MediaTemplates.default({}),
  /** CONVERT_TO_BINARY: the (rendered) payload is base64, sent decoded; CONVERT_TO_TEXT: a binary payload is sent base64. */
  contentHandling: z.enum(['CONVERT_TO_TEXT', 'CONVERT_TO_BINARY']).optional(),
});
export type IntegrationResponseConfig = z.output<typeof IntegrationResponse>;
export const Mapping = z.strictObject({
  requestTemplates: MediaTemplates.default({}),
  /** What happens to a request whose content type has no template: passed through, or 415 (API Gateway's names). */
  passthroughBehavior: z.enum(['WHEN_NO_MATCH', 'WHEN_NO_TEMPLATES', 'NEVER']).default('WHEN_NO_MATCH'),
  /** A request body of one of the API's binaryMediaTypes: CONVERT_TO_TEXT gives it (to templates too) base64; CONVERT_TO_BINARY decodes a base64 body. */
  contentHandling: z.enum(['CONVERT_TO_TEXT', 'CONVERT_TO_BINARY']).optional(),
  responses: z.array(IntegrationResponse).default([{ statusCode: 200, responseParameters: {}, responseTemplates: {} }]),
});
export type MappingConfig = z.output<typeof Mapping>;

/** The upstream request of both HTTP integrations, proxy or mapped. */
const UpstreamRequest = {
  /** Upstream URL template: `{param}`, `{proxy}` and `${stageVariables.x}` are substituted per request. */
  uri: z.string().min(1),
  /** Overrides the client's method (AWS `httpMethod`); default passes the client's through. */
  method: z.enum(HTTP_METHODS).optional(),
  timeoutMs: Millis(50, 29_000, 29_000),
  /** Extra request headers for the upstream; values may use `${stageVariables.x}`, `${context.authorizer.x}` and `${request.header|querystring|path.x}`. */
  requestHeaders: HeaderMap.default({}),
  /** Query parameters added to the upstream request (API Gateway's `integration.request.querystring.*`), same references. */
  requestQuery: z.record(z.string().min(1), z.string()).default({}),
};

export const HttpProxyIntegration = z.strictObject({
  type: z.literal('http_proxy'),
  ...UpstreamRequest,
});

export const MockIntegration = z.strictObject({
  type: z.literal('mock'),
  statusCode: z.number().int().min(100).max(599).default(200),
  headers: HeaderMap.default({}),
  body: z.string().default(''),
  /** API Gateway's mock: the request template's `{"statusCode": N}` selects a response, rendered by its template. */
  mapping: Mapping.optional(),
});

/** API Gateway's non-proxy `http` integration: the request and the upstream's response go through `mapping`. */
export const HttpIntegration = z.strictObject({
  type: z.literal('http'),
  ...UpstreamRequest,
  mapping: Mapping.default(Mapping.parse({})),
});

/** Lambda's function name rule; the name is also the function's queue name (docs/functions.md). */
export const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const LambdaFunctionName = z.string().regex(FUNCTION_NAME, 'a function name is 1 to 64 letters, digits, - and _');

/** API Gateway's Lambda proxy integration (`aws_proxy`): the request becomes a proxy event for a function. */
export const FunctionIntegration = z.strictObject({
  type: z.literal('function'),
  function: LambdaFunctionName,
  /** 1.0 is the REST API event (`httpMethod`, `multiValueHeaders`...), 2.0 the HTTP API one (`routeKey`, `rawPath`, `cookies`...). */
  payloadFormatVersion: z.enum(['1.0', '2.0']).default('1.0'),
  /**
   * `Event` answers 202 at once and runs the function asynchronously (AWS: requestParameters mapping the
   * static `'Event'` onto `integration.request.header.X-Amz-Invocation-Type`). A client's own
   * X-Amz-Invocation-Type header is ignored, as on AWS.
   */
  invocationType: z.enum(['RequestResponse', 'Event']).default('RequestResponse'),
  /**
   * A method request header whose value (`Event` or `RequestResponse`) decides per request (AWS:
   * `integration.request.header.X-Amz-Invocation-Type: method.request.header.NAME`); absent → invocationType.
   */
  invocationTypeFrom: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid HTTP header name').transform((h) => h.toLowerCase()).optional(),
  timeoutMs: Millis(50, 29_000, 29_000),
  /** API Gateway's non-proxy Lambda integration (`type: aws`): the event is the request template's output, the result goes through the responses. */
  mapping: Mapping.optional(),
});

export const Integration = z.discriminatedUnion('type', [HttpProxyIntegration, HttpIntegration, MockIntegration, FunctionIntegration]);
export type HttpIntegrationConfig = z.output<typeof HttpIntegration>;
export type IntegrationConfig = z.output<typeof Integration>;
export type HttpProxyIntegrationConfig = z.output<typeof HttpProxyIntegration>;
export type MockIntegrationConfig = z.output<typeof MockIntegration>;
export type FunctionIntegrationConfig = z.output<typeof FunctionIntegration>;

// ---- functions (docs/functions.md) ----------------------------------------------------------------

export const FunctionDefinition = z.strictObject({
  /** Lambda's handler string: `path/to/module.exportName`, the path relative to the config file, without extension. */
  handler: z.string().regex(/^\S+\.[A-Za-z_$][A-Za-z0-9_$]*$/, 'a handler is "path/to/module.exportName" (e.g. ./functions/orders.handler)'),
  /** The function's own timeout, enforced on the worker by killing the handler's process. */
  timeoutMs: Millis(1, 900_000, 3_000),
  memoryMB: z.number().int().min(128).max(10_240).default(128),
  environment: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names are letters, digits and _'), z.string()).default({}),
  /** Invocations running at once across the whole cluster (Lambda's reserved concurrency); unlimited when absent. */
  concurrency: z.number().int().min(1).max(100_000).optional(),
  /** Retries of a failed asynchronous invocation before it goes to the dead-letter queue (Lambda: 0 to 2). */
  maxRetries: z.number().int().min(0).max(2).default(2),
  /** First retry delay; each further retry doubles it. */
  retryBackoffMs: Millis(0, 3_600_000, 1_000),
  /** How long a dead letter (an async invocation that failed every retry) is kept: default 14 days, at most 365. */
  deadLetterRetentionMs: Millis(1_000, 365 * 86_400_000, 14 * 86_400_000),
});
export type FunctionDefinitionConfig = z.output<typeof FunctionDefinition>;
export const Functions = z.record(LambdaFunctionName, FunctionDefinition).default({});

/** A deployed function's code is stored in Redis with its deployment: at most this many bytes each. */
export const MAX_FUNCTION_CODE_BYTES = 1024 * 1024;

/**
 * A function deployed with an API through the control plane (docs/functions.md, "Functions in
 * deployments"): the settings of a config's function, and the code itself, one self-contained module
 * (dependencies bundled in) that the workers write to their disk.
 */
export const DeployedFunction = FunctionDefinition.omit({ handler: true }).extend({
  code: z
    .string()
    .min(1)
    .refine((s) => Buffer.byteLength(s) <= MAX_FUNCTION_CODE_BYTES, `at most ${MAX_FUNCTION_CODE_BYTES} bytes of code: bundle it, or serve the function from the workers' own config`),
  /** `esm` (the module is written as index.mjs) or `cjs` (index.cjs). */
  format: z.enum(['esm', 'cjs']).default('esm'),
  /** The module's export that handles invocations. */
  handler: z.string().regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/, 'the handler is the name of the module\'s export').default('handler'),
});
export type DeployedFunctionConfig = z.output<typeof DeployedFunction>;

// ---- authorizers (docs/authorization.md) --------------------------------------------------------

/**
 * Where an authorizer reads the caller's identity, in REST (`method.request.header.X`,
 * `method.request.querystring.X`, `stageVariables.X`, `context.X`) or HTTP API (`$request.header.X`, ...) syntax.
 */
const IDENTITY_SOURCE = /^(?:method\.request\.(?:header|querystring)\.[^\s,]+|\$request\.(?:header|querystring)\.[^\s,]+|\$?stageVariables\.[A-Za-z0-9_]+|\$?context\.[A-Za-z0-9_.]+)$/;
const IdentitySource = z.string().trim().regex(IDENTITY_SOURCE, 'an identity source is method.request.header.NAME, method.request.querystring.NAME, stageVariables.NAME or context.NAME (or the $request.* forms)');
/** AWS writes several identity sources as one comma-separated string; both forms are accepted. */
const IdentitySources = z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(IdentitySource));
const HeaderIdentitySource = IdentitySource.regex(/^(?:method\.request|\$request)\.header\./, 'this authorizer reads its token from a header: method.request.header.NAME');
const ResultTtl = z.number().int().min(0, '0 disables caching').max(3600, 'at most 3600 seconds').default(300);

export const TokenAuthorizer = z.strictObject({
  type: z.literal('token'),
  function: LambdaFunctionName,
  identitySource: HeaderIdentitySource.default('method.request.header.Authorization'),
  /** Checked before the function is called; a token that does not match answers 401. */
  identityValidationExpression: Regex.optional(),
  resultTtlSeconds: ResultTtl,
  timeoutMs: Millis(50, 29_000, 10_000),
});

export const RequestAuthorizer = z
  .strictObject({
    type: z.literal('request'),
    function: LambdaFunctionName,
    identitySource: IdentitySources.default([]),
    resultTtlSeconds: ResultTtl,
    timeoutMs: Millis(50, 29_000, 10_000),
    /** 1.0: the REST API event; 2.0: the HTTP API event (and, with enableSimpleResponses, `{isAuthorized, context}`). */
    payloadFormatVersion: z.enum(['1.0', '2.0']).default('1.0'),
    enableSimpleResponses: z.boolean().default(false),
  })
  .superRefine((a, ctx) => {
    if (a.resultTtlSeconds > 0 && a.identitySource.length === 0) ctx.addIssue({ code: 'custom', path: ['identitySource'], message: 'a cached request authorizer needs at least one identity source (its cache key); or set resultTtlSeconds: 0' });
    if (a.enableSimpleResponses && a.payloadFormatVersion !== '2.0') ctx.addIssue({ code: 'custom', path: ['enableSimpleResponses'], message: 'simple responses need payloadFormatVersion "2.0"' });
  });

/** Asymmetric algorithms only: `none` and HMAC (the HS/RS confusion) can never be configured. */
const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export const JwtAuthorizer = z.strictObject({
  type: z.literal('jwt'),
  issuer: z.url(),
  audiences: z.array(z.string().min(1)).min(1, 'at least one audience'),
  /** The issuer's JSON Web Key Set; default `<issuer>/.well-known/jwks.json`. */
  jwksUri: z.url().optional(),
  algorithms: z.array(z.enum(JWT_ALGORITHMS, { message: `allowed: ${JWT_ALGORITHMS.join(', ')} (never none or HS*)` })).min(1).default(['RS256']),
  clockSkewSeconds: z.number().int().min(0).max(300).default(30),
  /** How long a fetched key set is trusted before it is fetched again; an unknown `kid` refetches sooner. */
  jwksCacheSeconds: z.number().int().min(30).max(86_400).default(600),
  /** The least time between two fetches of the key set, so tokens with made-up `kid`s cannot hammer the issuer. */
  jwksCooldownSeconds: z.number().int().min(1).max(300).default(30),
  identitySource: HeaderIdentitySource.default('$request.header.Authorization'),
});

/** `arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID`, as `providerARNs` lists them. */
export const COGNITO_POOL_ARN = /^arn:aws[a-z-]*:cognito-idp:([a-z0-9-]+):\d{12}:userpool\/([a-z0-9-]+_[A-Za-z0-9]+)$/;

/**
 * REST APIs' Cognito user pool authorizer: the token is a JWT of one of the pools, verified against the
 * pool's key set. Without authorization scopes on the route it must be an ID token (`token_use: id`),
 * with scopes an access token (`token_use: access`) granting one of them, as API Gateway does.
 */
export const CognitoAuthorizer = z.strictObject({
  type: z.literal('cognito_user_pools'),
  userPools: z.array(z.string().regex(COGNITO_POOL_ARN, 'a user pool is arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID')).min(1, 'at least one user pool'),
  /** App client ids accepted (`aud` of an ID token, `client_id` of an access token); any client of the pools when empty. */
  clientIds: z.array(z.string().min(1)).default([]),
  identitySource: HeaderIdentitySource.default('method.request.header.Authorization'),
  clockSkewSeconds: z.number().int().min(0).max(300).default(30),
  jwksCacheSeconds: z.number().int().min(30).max(86_400).default(600),
  jwksCooldownSeconds: z.number().int().min(1).max(300).default(30),
});

export const Authorizer = z.discriminatedUnion('type', [TokenAuthorizer, RequestAuthorizer, JwtAuthorizer, CognitoAuthorizer]);
export type AuthorizerConfig = z.output<typeof Authorizer>;
export type TokenAuthorizerConfig = z.output<typeof TokenAuthorizer>;
export type RequestAuthorizerConfig = z.output<typeof RequestAuthorizer>;
export type JwtAuthorizerConfig = z.output<typeof JwtAuthorizer>;
export type CognitoAuthorizerConfig = z.output<typeof CognitoAuthorizer>;
/** Authorizers that check a route's authorizationScopes. */
export const SCOPED_AUTHORIZERS: ReadonlySet<AuthorizerConfig['type']> = new Set(['jwt', 'cognito_user_pools']);
export const AUTHORIZER_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const Authorizers = z.record(z.string().regex(AUTHORIZER_NAME, 'authorizer names are letters, digits, ., - and _'), Authorizer).default({});

// ---- traffic management (docs/traffic.md) ------------------------------------------------------

/** A token bucket as AWS writes throttle settings: refills `rateLimit` per second, holds `burstLimit` at most. */
export const ThrottleSettings = z.strictObject({
  rateLimit: z.number().positive('a rate limit is more than 0 requests per second').max(10_000_000),
  burstLimit: z.number().int().min(0).max(10_000_000),
});
export type ThrottleSettingsConfig = z.output<typeof ThrottleSettings>;

export const GatewayThrottle = z
  .strictObject({
    /** The gateway-wide bucket (AWS's account-level limit); both or neither. */
    rateLimit: z.number().positive('a rate limit is more than 0 requests per second').max(10_000_000).optional(),
    burstLimit: z.number().int().min(0).max(10_000_000).optional(),
    /** One bucket per client IP, applied on every route. */
    perClientIp: ThrottleSettings.optional(),
    /** What a throttle or quota decision does when Redis does not answer within redisTimeoutMs. */
    redisFailurePolicy: z.enum(['fail-open', 'fail-closed']).default('fail-open'),
    redisTimeoutMs: Millis(1, 5_000, 50),
  })
  .superRefine((t, ctx) => {
    if ((t.rateLimit === undefined) !== (t.burstLimit === undefined)) {
      ctx.addIssue({ code: 'custom', path: [t.rateLimit === undefined ? 'rateLimit' : 'burstLimit'], message: 'the gateway-wide limit needs both rateLimit and burstLimit' });
    }
  });
export type GatewayThrottleConfig = z.output<typeof GatewayThrottle>;

// ---- APIs ---------------------------------------------------------------------------------------

/**
 * API Gateway's request validator on a route: required query strings and headers (400 `Missing required
 * request parameters: [...]`), and the body against the model for its content type (400 `Invalid request body`).
 */
export const RequestValidation = z.strictObject({
  requiredQueryStrings: z.array(z.string().min(1)).default([]),
  requiredHeaders: z.array(z.string().min(1)).default([]),
  /** Content type → JSON Schema draft 4 (self-contained: `$ref`s point into its own `definitions`). */
  bodyModels: z
    .record(
      z.string(),
      z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
        try {
          compileModel(schema);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `not a valid JSON Schema (draft 4) model: ${(err as Error).message}` });
        }
      }),
    )
    .default({}),
});
export type RequestValidationConfig = z.output<typeof RequestValidation>;

export const Route = z.strictObject({
  integration: Integration,
  requestValidation: RequestValidation.optional(),
  apiKeyRequired: z.boolean().default(false),
  /** Name of an authorizer in the API's (or the file's top-level) `authorizers`. */
  authorizer: z.string().regex(AUTHORIZER_NAME).optional(),
  /** JWT and Cognito authorizers: the token must carry at least one of these scopes. */
  authorizationScopes: z.array(z.string().min(1)).optional(),
  /** This route's own bucket in every stage (AWS method throttling); each stage counts separately. */
  throttle: ThrottleSettings.optional(),
});
export type RouteConfig = z.output<typeof Route>;

export const STAGE_NAME = /^(\$default|[A-Za-z0-9_-]{1,128})$/;
const StageName = z.string().regex(STAGE_NAME, 'stage names are $default or letters, digits, - and _');
export const StageVariables = z.record(z.string().regex(/^[A-Za-z0-9_]+$/, 'stage variable names are letters, digits and _'), z.string());
/**
 * AWS `canarySettings`: a share of the stage's requests goes to the canary, which sees the stage's variables
 * with `variables` laid over them. The canary serves the routes of `deployment` (another entry of `apis`
 * with the same name and that `deployment`; docs/versions.md), or the stage's own routes when absent.
 */
export const Canary = z.strictObject({
  percent: z.number().min(0).max(100),
  variables: StageVariables.default({}),
  deployment: z.string().min(1).optional(),
});
export type CanaryConfig = z.output<typeof Canary>;
export const Stage = z.strictObject({
  variables: StageVariables.default({}),
  /** One bucket for every request to this stage. */
  throttle: ThrottleSettings.optional(),
  canary: Canary.optional(),
});
export type StageConfig = z.output<typeof Stage>;

const BasePath = z
  .string()
  .regex(/^\/([A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*)?$/, 'a base path is / or /segment[/segment...] without a trailing slash');

// ---- gateway responses (x-amazon-apigateway-gateway-responses) -----------------------------------

/** API Gateway's gateway response types Turnpike produces; DEFAULT_4XX / DEFAULT_5XX cover the rest of their class. */
export const GATEWAY_RESPONSE_TYPES = [
  'DEFAULT_4XX', 'DEFAULT_5XX', 'ACCESS_DENIED', 'API_CONFIGURATION_ERROR', 'AUTHORIZER_FAILURE', 'BAD_REQUEST_BODY', 'BAD_REQUEST_PARAMETERS',
  'INTEGRATION_FAILURE', 'INTEGRATION_TIMEOUT', 'INVALID_API_KEY', 'MISSING_AUTHENTICATION_TOKEN', 'QUOTA_EXCEEDED', 'REQUEST_TOO_LARGE',
  'RESOURCE_NOT_FOUND', 'THROTTLED', 'UNAUTHORIZED', 'UNSUPPORTED_MEDIA_TYPE', 'EXPIRED_TOKEN', 'INVALID_SIGNATURE', 'WAF_FILTERED', 'AUTHORIZER_CONFIGURATION_ERROR',
] as const;
export const GatewayResponse = z.strictObject({
  /** Replaces the status API Gateway would answer with. */
  statusCode: z.number().int().min(100).max(599).optional(),
  /** `gatewayresponse.header.NAME`: `'static'`, `method.request.header.X`, `method.request.querystring.X`, `method.request.path.X`, `context.X`, `stageVariables.X`. */
  responseParameters: z
    .record(
      z.string().regex(/^gatewayresponse\.header\.[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a gateway response parameter is gatewayresponse.header.NAME'),
      z.string().regex(/^(?:'[^]*'|method\.request\.(?:header|querystring|path)\.\S+|context\.[A-Za-z0-9_.]+|stageVariables\.[A-Za-z0-9_]+)$/, "a value is 'static', method.request.(header|querystring|path).NAME, context.NAME or stageVariables.NAME"),
    )
    .default({}),
  responseTemplates: MediaTemplates.default({}),
});
export type GatewayResponseConfig = z.output<typeof GatewayResponse>;

// ---- CORS (API Gateway HTTP API's fields) --------------------------------------------------------

/** `https://app.example.com`, `http://localhost:3000`, `*`, or a wildcard subdomain `https://*.example.com`. */
const CorsOrigin = z
  .string()
  .regex(/^(\*|https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?)$/, 'an allowed origin is *, scheme://host[:port], or scheme://*.domain[:port] (no path, no trailing slash)');
const CorsHeaderName = z.string().regex(/^(\*|[!#$%&'*+.^_`|~0-9A-Za-z-]+)$/, 'not a valid HTTP header name');
export const Cors = z
  .strictObject({
    allowOrigins: z.array(CorsOrigin).min(1, 'list at least one origin (or *)'),
    allowMethods: z.array(z.union([z.enum(HTTP_METHODS), z.literal('*')])).default(['*']),
    allowHeaders: z.array(CorsHeaderName).default([]),
    exposeHeaders: z.array(CorsHeaderName).default([]),
    /** Seconds a browser may cache a preflight answer; 0 sends no Access-Control-Max-Age. */
    maxAge: z.number().int().min(0).max(86_400).default(0),
    allowCredentials: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    // Browsers ignore `*` on credentialed requests; echoing any origin with credentials would expose every user's session.
    if (c.allowCredentials && c.allowOrigins.includes('*')) {
      ctx.addIssue({ code: 'custom', path: ['allowCredentials'], message: 'allowCredentials cannot be combined with allowOrigins "*": list the origins (wildcard subdomains allowed)' });
    }
  });
export type CorsConfig = z.output<typeof Cors>;

// ---- WebSocket APIs (docs/websocket.md) ------------------------------------------------------------

/** `$request.body.a.b`: the JSON path in a text message whose value is the route key. */
export const ROUTE_SELECTION_EXPRESSION = /^\$request\.body(\.[A-Za-z0-9_$-]+)+$/;
export const WEBSOCKET_ROUTE_KEY = /^(\$connect|\$disconnect|\$default|[^$\s][^\s]{0,127})$/;
/** Topic names: what `@topics/{topic}` and `@connections/{id}/topics/{topic}` carry in one path segment. */
export const TOPIC_NAME = /^[A-Za-z0-9_.:~-]{1,128}$/;

export const WebSocketRoute = z.strictObject({
  integration: Integration,
  /** Two-way route: what the integration returns (`body`) is sent back to the client. */
  routeResponse: z.boolean().default(false),
  /** `$connect` only: a request authorizer (or jwt) reading headers / query string of the upgrade request. */
  authorizer: z.string().regex(AUTHORIZER_NAME).optional(),
  /** `$connect` only: the upgrade request must carry a valid x-api-key. */
  apiKeyRequired: z.boolean().default(false),
  /** `$connect` only: topics every new connection of this API is subscribed to. */
  topics: z.array(z.string().regex(TOPIC_NAME, 'topic names are 1 to 128 letters, digits, _ . : ~ -')).default([]),
});
export type WebSocketRouteConfig = z.output<typeof WebSocketRoute>;

export const WebSocketApiSettings = z
  .strictObject({
    routeSelectionExpression: z.string().regex(ROUTE_SELECTION_EXPRESSION, 'a route selection expression is $request.body.<field>[.<field>...]').default('$request.body.action'),
    routes: z.record(z.string(), WebSocketRoute),
    /** Closed (1001) after this long without a data message either way (API Gateway: 10 minutes). */
    idleTimeoutMs: Millis(1_000, 86_400_000, 600_000),
    /** Closed (1001) after this long whatever happens (API Gateway: 2 hours). */
    maxConnectionDurationMs: Millis(1_000, 604_800_000, 7_200_000),
    /** A bigger message closes the connection with 1009 (API Gateway: 128 KB). */
    maxMessageBytes: z.number().int().min(16).max(16 * 1024 * 1024).default(128 * 1024),
    /** `reject` (API Gateway): a binary frame from a client closes the connection with 1003; `base64`: it goes to the route base64-encoded. */
    binaryMessages: z.enum(['reject', 'base64']).default('reject'),
    /**
     * Messages a connection may send per second, on average; past it (and its burst) the connection is
     * closed with 1008. Bounds what one client can make the edge do, integrations and access-log lines
     * included.
     */
    maxMessagesPerSecond: z.number().int().min(1).max(100_000).default(100),
    /** Messages a connection may send at once above its per-second rate (the bucket's size). */
    messageBurst: z.number().int().min(1).max(1_000_000).default(200),
    /**
     * Bytes of a connection's messages that may wait for their route integrations at once; a message
     * that would pass it closes the connection with 1008 (a message is always taken when none waits).
     */
    maxPendingBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(1024 * 1024),
  })
  .superRefine((ws, ctx) => {
    for (const [key, route] of Object.entries(ws.routes)) {
      // Checked here rather than by the record's key schema, whose error would not say what a key is.
      if (!WEBSOCKET_ROUTE_KEY.test(key)) ctx.addIssue({ code: 'custom', path: ['routes', key], message: `route key "${key}" is not $connect, $disconnect, $default or a custom key (1 to 128 characters, no spaces, not starting with $)` });
      if (route.integration.type === 'http' || ('mapping' in route.integration && route.integration.mapping !== undefined)) {
        ctx.addIssue({ code: 'custom', path: ['routes', key, 'integration'], message: 'mapping templates (non-proxy integrations) are not supported on WebSocket routes' });
      }
      if (key === '$connect') continue;
      for (const f of ['authorizer', 'apiKeyRequired', 'topics'] as const) {
        const v = route[f];
        if (v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0)) ctx.addIssue({ code: 'custom', path: ['routes', key, f], message: `${f} applies to the $connect route only` });
      }
    }
  });
export type WebSocketApiSettingsConfig = z.output<typeof WebSocketApiSettings>;

/** Node-wide WebSocket settings: uWS applies backpressure limits per server, pub/sub fan-out included. */
export const WebSocketNode = z.strictObject({
  /** Bytes a slow client may have waiting on this node before the slow-consumer policy applies. */
  maxBufferedBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(1024 * 1024),
  /** `drop`: further messages are dropped until the client catches up; `disconnect`: it is disconnected. */
  slowConsumerPolicy: z.enum(['drop', 'disconnect']).default('disconnect'),
  /** How often a node renews its registry heartbeat (and flushes lastActiveAt). */
  heartbeatMs: Millis(100, 60_000, 5_000),
  /** A node silent this long is dead: any other node removes its connections from the registry. */
  nodeTimeoutMs: Millis(300, 600_000, 30_000),
  /**
   * A connection that sent nothing for this long gets a ping (uWS, 4 s granularity); one that stays
   * silent as long again is closed as a dead peer. Independent of an API's `idleTimeoutMs`, which counts
   * data messages only. Each idle connection costs a ping and a pong per interval: a million at 120 s
   * took ~1 core of a 2-core machine (loadtests/README.md).
   */
  pingIntervalSeconds: z.number().int().min(8).max(960).default(120),
});
export type WebSocketNodeConfig = z.output<typeof WebSocketNode>;

export const Api = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'API names are letters, digits, ., - and _'),
    /** AWS-style API id used in ARNs and request contexts; defaults to the name. */
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    /** The control-plane deployment these routes were frozen in (docs/versions.md); `$context.deploymentId`. */
    deployment: z.string().min(1).optional(),
    /**
     * `rest` (API Gateway REST API, the default), `http` (HTTP API) or `websocket`. The kind decides every
     * gateway answer (docs/aws-behaviour.md). Absent: an imported OpenAPI document with HTTP API markers
     * makes it `http`, anything else is `rest`.
     */
    type: z.enum(['rest', 'http', 'websocket']).optional(),
    /** `type: websocket` only: routes, route selection and limits (docs/websocket.md). */
    websocket: WebSocketApiSettings.optional(),
    basePath: BasePath.default('/'),
    /** Host names (without port) this API answers; empty means any host. */
    hosts: z.array(z.string().min(1).transform((h) => h.toLowerCase())).default([]),
    stages: z.record(StageName, Stage).default({ $default: { variables: {} } }),
    /** Routes may also come from an OpenAPI document; routes written here win over imported ones. */
    openapi: z.string().optional(),
    routes: z.record(z.string(), Route).default({}),
    binaryMediaTypes: z.array(z.string()).default([]),
    /** Where `apiKeyRequired` routes read the key: the x-api-key header, or an authorizer's usageIdentifierKey. Default HEADER. */
    apiKeySource: z.enum(['HEADER', 'AUTHORIZER']).optional(),
    /** Answered by the gateway before routing; see docs/monitoring-and-cors.md. */
    cors: Cors.optional(),
    /** Authorizers routes name with `authorizer:`; these win over the file's top-level ones of the same name. */
    authorizers: Authorizers,
    /** How the gateway's own errors look (401, 403, 404, 429, 5xx...), by API Gateway's response type. */
    gatewayResponses: z.partialRecord(z.enum(GATEWAY_RESPONSE_TYPES), GatewayResponse).optional(),
    /**
     * Control plane only: functions deployed with this API, code included. The edges invoke the version a
     * deployment froze; workers started with --control run every version some stage serves.
     */
    functions: z.record(LambdaFunctionName, DeployedFunction).optional(),
  })
  .superRefine((api, ctx) => {
    if (Object.keys(api.stages).length === 0) ctx.addIssue({ code: 'custom', path: ['stages'], message: 'an API needs at least one stage' });
    if (api.type === 'websocket') {
      if (!api.websocket) ctx.addIssue({ code: 'custom', path: ['websocket'], message: 'a WebSocket API needs a websocket block with its routes' });
      if (api.openapi || Object.keys(api.routes).length) ctx.addIssue({ code: 'custom', path: [api.openapi ? 'openapi' : 'routes'], message: 'a WebSocket API has no HTTP routes: put its routes under websocket.routes' });
      return;
    }
    if (api.websocket) ctx.addIssue({ code: 'custom', path: ['websocket'], message: 'a websocket block needs type: websocket' });
    if (!api.openapi && Object.keys(api.routes).length === 0) ctx.addIssue({ code: 'custom', path: ['routes'], message: 'an API needs routes or an openapi document' });
  });
export type ApiConfig = z.output<typeof Api>;

// ---- the gateway --------------------------------------------------------------------------------

// ---- monitoring: access logs, metrics, tracing --------------------------------------------------

/** The `$context.*` variables an access-log format may use (API Gateway's names); `authorizer.<key>` too. */
export const ACCESS_LOG_VARIABLES = [
  'requestId', 'extendedRequestId', 'requestTime', 'requestTimeEpoch', 'httpMethod', 'path', 'resourcePath', 'routeKey',
  'status', 'responseLength', 'responseLatency', 'integrationLatency', 'integration.latency', 'protocol', 'domainName',
  'stage', 'apiId', 'accountId', 'identity.sourceIp', 'identity.userAgent', 'identity.apiKeyId', 'authorizer.principalId', 'error.message',
  'connectionId', 'eventType', 'messageId', 'isCanaryRequest', 'deploymentId',
] as const;
export type AccessLogVariable = (typeof ACCESS_LOG_VARIABLES)[number];
const KNOWN_VARIABLES: ReadonlySet<string> = new Set(ACCESS_LOG_VARIABLES);
/** `$context.a.b`; a trailing dot is text, not part of the name. */
export const CONTEXT_VARIABLE = /\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)/g;

export const DEFAULT_ACCESS_LOG_FORMAT =
  '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",' +
  '"routeKey":"$context.routeKey","path":"$context.path","stage":"$context.stage","status":"$context.status","protocol":"$context.protocol",' +
  '"responseLength":"$context.responseLength","responseLatency":"$context.responseLatency","integrationLatency":"$context.integrationLatency",' +
  '"principalId":"$context.authorizer.principalId","connectionId":"$context.connectionId","eventType":"$context.eventType","error":"$context.error.message"}';

export const AccessLog = z.strictObject({
  /** `stdout`, or a file path (relative to the config file) appended to. */
  destination: z.string().min(1).default('stdout'),
  format: z
    .string()
    .min(1)
    .default(DEFAULT_ACCESS_LOG_FORMAT)
    .superRefine((format, ctx) => {
      for (const [, name] of format.matchAll(CONTEXT_VARIABLE)) {
        if (name === undefined) continue;
        if (name === 'identity.apiKey') ctx.addIssue({ code: 'custom', message: '$context.identity.apiKey would write API key values to the log; it is not supported' });
        else if (!KNOWN_VARIABLES.has(name) && !/^authorizer\.[A-Za-z0-9_]+$/.test(name)) {
          ctx.addIssue({ code: 'custom', message: `unknown access-log variable $context.${name} (supported: ${ACCESS_LOG_VARIABLES.map((v) => '$context.' + v).join(', ')}, $context.authorizer.<key>)` });
        }
      }
    }),
});
export type AccessLogConfig = z.output<typeof AccessLog>;

export const Metrics = z.strictObject({
  /** Prometheus text on the management listener's /metrics; pushed too as the OTEL_* variables ask (docs/monitoring-and-cors.md). */
  enabled: z.boolean().default(true),
});
export const Tracing = z.strictObject({
  /** Spans are made only when they have somewhere to go: OTEL_TRACES_EXPORTER or an OTLP endpoint set, or a tracer provider given in code (tests). */
  enabled: z.boolean().default(true),
  /** Share of requests without a sampled parent that are traced; a client's sampled `traceparent` is always followed. */
  sampleRatio: z.number().min(0).max(1).default(0.01),
});

export const ControlFollow = z.strictObject({
  enabled: z.boolean().default(false),
  /** How often the edge checks the revision, in case a pub/sub message was missed. */
  pollMs: Millis(50, 600_000, 2_000),
});

/** Per-call metering for usage and billing (docs/billing.md). */
export const Metering = z.strictObject({
  /** Off: no usage is recorded (GetUsage, statements and spend caps see nothing); for benchmarks and gateways that bill no one. */
  enabled: z.boolean().default(true),
  /**
   * Which calls made with an API key count: `integration`, answered by the integration with a status
   * below 500 (no gateway refusal, timeout or upstream failure); `integration-any`, answered by the
   * integration whatever its status; `admitted`, every call but throttling and quota refusals.
   */
  billable: z.enum(['integration', 'integration-any', 'admitted']).default('integration'),
  /** How often each edge writes its counters to Redis: also the most calls a `kill -9` can lose. */
  flushIntervalMs: Millis(100, 60_000, 1_000),
});

/** TLS to Redis: files are PEM, paths relative to the config file; present turns TLS on (as rediss:// does). */
export const RedisTls = z.strictObject({
  caFile: z.string().optional(),
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
  /** The name the server certificate is checked against (SNI), when it is not the host in the URL. */
  servername: z.string().optional(),
  rejectUnauthorized: z.boolean().default(true),
});

/** How every Turnpike process reaches Redis (docs/deployment.md): one node, Sentinel or Cluster. */
export const RedisSettings = z.strictObject({
  /** redis://, rediss://, redis+sentinel://s1,s2/master or redis+cluster://n1,n2 (see redisUrl.ts). */
  url: z
    .string()
    .default('redis://127.0.0.1:6379')
    .superRefine((url, ctx) => {
      try {
        parseRedisUrl(url);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  keyPrefix: z.string().regex(/^[^{}\s]+$/, 'a key prefix has no braces or spaces (braces are Cluster hash tags)').default('tp'),
  /** ACL user and password of the data nodes; override the URL's, so secrets can come from `${env:...}`. */
  username: z.string().optional(),
  password: z.string().optional(),
  tls: RedisTls.optional(),
  /** Sentinel only: the sentinels' own credentials (`requirepass`/ACL on the sentinels). */
  sentinel: z.strictObject({ username: z.string().optional(), password: z.string().optional() }).optional(),
  /** Cluster (and Sentinel) only: addresses the nodes announce mapped to addresses this host reaches them at ("10.0.0.5:6379": "203.0.113.9:16379"). */
  natMap: z.record(z.string().regex(/^[^:]+:\d+$/, 'host:port'), z.string().regex(/^[^:]+:\d+$/, 'host:port')).optional(),
  /**
   * Replication is asynchronous: a write the master acknowledged can be lost when a replica is promoted
   * before it got it. With this, an async invocation is answered 202 only once `replicas` replicas hold
   * it (WAIT, at most `timeoutMs`); otherwise 503, and the client retries (docs/deployment.md).
   */
  replicaAck: z.strictObject({ replicas: z.number().int().min(1).max(16), timeoutMs: Millis(1, 10_000, 200) }).optional(),
  /** No Redis command of an edge's request path waits longer than this (docs/traffic.md, "Redis slow or down"). */
  timeoutMs: Millis(1, 10_000, 500),
}).superRefine((r, ctx) => {
  if (r.replicaAck && /^rediss?\+cluster:/.test(r.url)) ctx.addIssue({ code: 'custom', path: ['replicaAck'], message: 'replicaAck is not supported on Redis Cluster yet (WAIT must reach the master of the queue\'s slot)' });
  // WAIT is a request-path call like any other: the RedisGuard bounds it by timeoutMs.
  if (r.replicaAck && r.replicaAck.timeoutMs > r.timeoutMs) ctx.addIssue({ code: 'custom', path: ['replicaAck', 'timeoutMs'], message: `replicaAck.timeoutMs (${r.replicaAck.timeoutMs}) must not exceed gateway.redis.timeoutMs (${r.timeoutMs}), which bounds every request-path Redis call` });
});
export type RedisSettingsConfig = z.output<typeof RedisSettings>;

export const Gateway = z.strictObject({
  region: z.string().regex(/^[a-z0-9-]+$/).default('us-east-1'),
  accountId: z.string().regex(/^\d{12}$/, 'an account id is 12 digits').default('000000000000'),
  listen: z.strictObject({ host: z.string().default('0.0.0.0'), port: z.number().int().min(0).max(65535).default(8080) }).default({ host: '0.0.0.0', port: 8080 }),
  /** /healthz, /readyz and /metrics, kept off the user-facing port so no API route can shadow them. */
  management: z.strictObject({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(9090) }).default({ host: '127.0.0.1', port: 9090 }),
  /** A bigger request body answers 413 and closes the connection (API Gateway: 10 MB). */
  maxBodyBytes: z.number().int().min(0).default(10 * 1024 * 1024),
  /**
   * Request bodies up to this size are read whole before an integration takes an upstream connection, so
   * a slow client never holds one (API Gateway buffers bodies up to its 10 MB limit); bigger ones stream.
   */
  bodyBufferBytes: z.number().int().min(0).default(10 * 1024 * 1024),
  /** A buffered request body not received whole within this answers 408 and closes the connection. */
  bodyTimeoutMs: Millis(100, 600_000, 30_000),
  /** Request line plus headers over this many bytes answer 431 and close the connection (API Gateway: 10 KB). */
  maxHeaderBytes: z.number().int().min(1024).max(1024 * 1024).default(10 * 1024),
  shutdownGraceMs: Millis(0, 600_000, 10_000),
  /**
   * Proxies in front of the edge that append to X-Forwarded-For (a load balancer: 1). `sourceIp` is the
   * address that many entries from the right; 0 believes only the socket's peer (docs/aws-behaviour.md).
   */
  trustedProxyHops: z.number().int().min(0).max(10).default(0),
  redis: RedisSettings.default(RedisSettings.parse({})),
  throttle: GatewayThrottle.default(GatewayThrottle.parse({})),
  /** Validated API keys (and their usage plans) are cached this long per edge node; changes reach nodes at once via Redis pub/sub. */
  apiKeys: z
    .strictObject({
      cacheTtlMs: Millis(0, 3_600_000, 60_000),
      /**
       * How long past cacheTtlMs a verified key is still served while it is checked again in the
       * background, and the longest a node keeps admitting it when Redis cannot be asked.
       */
      maxStaleMs: Millis(0, 86_400_000, 900_000),
    })
    .default({ cacheTtlMs: 60_000, maxStaleMs: 900_000 }),
  /** One JSON line per request (and WebSocket event); off when absent. */
  accessLog: AccessLog.optional(),
  metrics: Metrics.default({ enabled: true }),
  tracing: Tracing.default({ enabled: true, sampleRatio: 0.01 }),
  websocket: WebSocketNode.default(WebSocketNode.parse({})),
  /** Serve the APIs of the control plane in `redis` instead of the file's (docs/versions.md). */
  control: ControlFollow.default({ enabled: false, pollMs: 2_000 }),
  metering: Metering.default(Metering.parse({})),
  /**
   * Where Cognito user pools are: `ENDPOINT/POOL_ID` is a pool's token issuer and
   * `ENDPOINT/POOL_ID/.well-known/jwks.json` its key set. Default `https://cognito-idp.REGION.amazonaws.com`
   * (REGION from the pool's ARN); set it to run against a local Cognito (cognito-local, tests) offline.
   */
  cognito: z.strictObject({ endpoint: z.url().optional() }).default({}),
});
export type GatewayConfig = z.output<typeof Gateway>;

/** Route keys are checked outside the schema so they are reported even when other fields are wrong too. */
export function routeKeyProblem(key: string): string | null {
  return ROUTE_KEY.test(key)
    ? null
    : `route key "${key}" is not "METHOD /path" (METHOD one of GET POST PUT PATCH DELETE HEAD OPTIONS ANY; segments literal or {param}; a greedy {name+} only last)`;
}

/** A custom domain's host name, lower case, without port. */
export const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** A base path mapping's key: `(none)` for the root, else one path segment (AWS: `v1`, `orders`). */
export const MAPPING_BASE_PATH = /^(\(none\)|[A-Za-z0-9._~-]{1,128})$/;
export const BasePathMapping = z.strictObject({ api: z.string().min(1), stage: StageName });
export type BasePathMappingConfig = z.output<typeof BasePathMapping>;
/**
 * Custom domains (AWS base path mappings): requests whose host is one of these are routed only by its
 * mappings, `api.example.com/v1/...` to one API's stage, served without the stage in the path.
 */
export const Domains = z
  .record(
    z.string(),
    z.record(z.string(), BasePathMapping).superRefine((mappings, ctx) => {
      // Checked here rather than by the record's key schema, whose error would not say what a key is.
      for (const key of Object.keys(mappings)) if (!MAPPING_BASE_PATH.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: `base path "${key}" is not (none) or one path segment` });
    }),
  )
  .superRefine((domains, ctx) => {
    for (const d of Object.keys(domains)) if (!DOMAIN_NAME.test(d)) ctx.addIssue({ code: 'custom', path: [d], message: `"${d}" is not a lower-case host name without port` });
  })
  .default({});
export type DomainsConfig = z.output<typeof Domains>;

export const TurnpikeFile = z
  .strictObject({
    turnpike: z.literal(1).default(1),
    gateway: Gateway.default(Gateway.parse({})),
    /** Authorizers every API may name; the loader merges them into each API's own `authorizers`. */
    authorizers: Authorizers,
    /** Functions the workers run; `turnpike worker --functions DIR` adds every module in DIR as well. */
    functions: Functions,
    apis: z.array(Api).default([]),
    domains: Domains,
  })
  .superRefine((file, ctx) => {
    // An edge following the control plane takes its APIs from Redis; any other config needs its own.
    if (file.apis.length === 0 && !file.gateway.control.enabled) ctx.addIssue({ code: 'custom', path: ['apis'], message: 'at least one API is needed (or gateway.control.enabled: the control plane\'s)' });
    for (const [domain, mappings] of Object.entries(file.domains)) {
      for (const [basePath, m] of Object.entries(mappings)) {
        const api = file.apis.find((a) => a.name === m.api);
        if (!api) ctx.addIssue({ code: 'custom', path: ['domains', domain, basePath, 'api'], message: `no API named "${m.api}"` });
        else if (!api.stages[m.stage]) ctx.addIssue({ code: 'custom', path: ['domains', domain, basePath, 'stage'], message: `API "${m.api}" has no stage "${m.stage}"` });
      }
    }
    file.apis.forEach((api, i) => {
      for (const [key, route] of Object.entries(api.routes)) {
        if (route.authorizer === undefined) continue;
        const authorizer = api.authorizers[route.authorizer] ?? file.authorizers[route.authorizer];
        if (!authorizer) ctx.addIssue({ code: 'custom', path: ['apis', i, 'routes', key, 'authorizer'], message: `no authorizer named "${route.authorizer}" in this API's or the top-level authorizers` });
        else if (route.authorizationScopes?.length && !SCOPED_AUTHORIZERS.has(authorizer.type)) ctx.addIssue({ code: 'custom', path: ['apis', i, 'routes', key, 'authorizationScopes'], message: 'authorization scopes apply to jwt and cognito_user_pools authorizers only' });
      }
      const wsAuthorizer = api.websocket?.routes.$connect?.authorizer;
      if (wsAuthorizer !== undefined && !(api.authorizers[wsAuthorizer] ?? file.authorizers[wsAuthorizer])) {
        ctx.addIssue({ code: 'custom', path: ['apis', i, 'websocket', 'routes', '$connect', 'authorizer'], message: `no authorizer named "${wsAuthorizer}" in this API's or the top-level authorizers` });
      }
    });
  });
export type TurnpikeFileConfig = z.output<typeof TurnpikeFile>;
