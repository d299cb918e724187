import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { clfTime } from '../../observe/clfTime.js';
import { domainPrefix, identityV1 } from '../../lambda/eventParts.js';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { forwardingHeaders } from '../../http/forwarded.js';
import { headerMaps, joinedMaps, queryMaps } from '../../http/valueMaps.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { CompiledRoute } from '../../router/routeTable.js';
import type { CredentialNames } from '@turnpike/codec';
import { parseIdentitySource } from '../../services/authorization/identity.js';

/**
 * API Gateway's Lambda proxy events, field for field: payload format 1.0 (REST APIs, `APIGatewayProxyEvent`
 * in @types/aws-lambda) and 2.0 (HTTP APIs, `APIGatewayProxyEventV2`). What is the same for every request
 * of a route is computed once into an EventShape; building an event only copies the request in.
 */

export interface EventShape {
  readonly version: '1.0' | '2.0';
  readonly resource: string;
  readonly routeKey: string;
  readonly accountId: string;
  readonly apiId: string;
  /** Whether a request body of this content type goes to the function base64-encoded. */
  readonly isBinary: (contentType: string | undefined) => boolean;
  /**
   * Whether a result's `isBase64Encoded` body is sent as bytes, given the request's Accept header: always
   * on HTTP APIs; on REST APIs only when the first Accept type is one of the binary media types.
   */
  readonly decodeBase64: (accept: string | undefined) => boolean;
  /** AWS's `resourceId`: a short id of the resource, stable across requests and deployments. */
  readonly resourceId: string;
  /** API key header goes into `identity.apiKey` (REST) when the route requires one. */
  readonly apiKeyRequired: boolean;
  /** The number of base-path segments before the stage segment. */
  readonly basePathLength: number;
  /** Headers and query parameters the route's authorizer reads credentials from; null when none. */
  readonly credentials: CredentialNames | null;
}

export function eventShape(route: CompiledRoute, version: '1.0' | '2.0', accountId: string): EventShape {
  const isBinary = binaryMatcher(route.api.config.binaryMediaTypes);
  return {
    version,
    resource: route.resourcePath,
    routeKey: route.routeKey,
    accountId,
    apiId: route.api.id,
    isBinary,
    decodeBase64: route.api.kind === 'http' ? () => true : (accept) => accept !== undefined && isBinary(firstMediaType(accept)),
    resourceId: resourceIdOf(route.resourcePath),
    apiKeyRequired: route.config.apiKeyRequired,
    basePathLength: route.api.basePathSegments.length,
    credentials: credentialNames(route),
  };
}

/** The headers and query parameters the route's authorizer takes its identity from. */
function credentialNames(route: CompiledRoute): CredentialNames | null {
  const name = route.config.authorizer;
  const authorizer = name === undefined ? undefined : route.api.config.authorizers[name];
  if (authorizer === undefined) return null;
  const sources = typeof authorizer.identitySource === 'string' ? [authorizer.identitySource] : authorizer.identitySource;
  const headers: string[] = [];
  const query: string[] = [];
  for (const source of sources) {
    if (!/^\$?(?:method\.)?request\./.test(source)) continue; // stage and context variables are not the caller's
    const src = parseIdentitySource(source);
    if (src.kind === 'header') headers.push(src.name);
    else if (src.kind === 'query') query.push(src.name);
  }
  return headers.length || query.length ? { headers, query } : null;
}

/** The first entry of an Accept header (`image/png;q=0.9, *\/*` → `image/png;q=0.9`). */
function firstMediaType(accept: string): string {
  const comma = accept.indexOf(',');
  return comma < 0 ? accept : accept.slice(0, comma);
}

/** Six lowercase letters and digits, like AWS's resource ids (`a1b2c3`), derived from the resource path. */
export function resourceIdOf(resourcePath: string): string {
  return createHash('sha256').update(resourcePath).digest().readUIntBE(0, 6).toString(36).padStart(6, '0').slice(-6);
}

/** `binaryMediaTypes` entries are `type/subtype`, `type/*` or `*\/*`, matched against the media type only. */
export function binaryMatcher(types: readonly string[]): (contentType: string | undefined) => boolean {
  if (types.length === 0) return () => false;
  if (types.includes('*/*')) return () => true;
  const exact = new Set(types.filter((t) => !t.endsWith('/*')).map((t) => t.toLowerCase()));
  const prefixes = types.filter((t) => t.endsWith('/*')).map((t) => t.slice(0, -1).toLowerCase());
  return (contentType) => {
    if (!contentType) return false;
    const semi = contentType.indexOf(';');
    const media = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
    if (exact.has(media)) return true;
    for (const p of prefixes) if (media.startsWith(p)) return true;
    return false;
  };
}

export function buildEvent(shape: EventShape, ctx: RequestContext, body: Buffer | null): APIGatewayProxyEvent | APIGatewayProxyEventV2 {
  return shape.version === '1.0' ? buildV1(shape, ctx, body) : buildV2(shape, ctx, body);
}

function buildV1(shape: EventShape, ctx: RequestContext, body: Buffer | null): APIGatewayProxyEvent {
  // REST APIs put the last value of a repeated header in `headers`, every value in `multiValueHeaders`.
  const h = headerMaps(ctx.rawHeaders);
  addForwarding(h.single, h.multi, ctx);
  const q = queryMaps(ctx.query);
  const vars = ctx.stage.variables;
  const binary = body !== null && shape.isBinary(ctx.headers['content-type']);
  const userAgent = ctx.headers['user-agent'] ?? null;
  return {
    resource: shape.resource,
    path: pathWithoutStage(ctx),
    httpMethod: ctx.method,
    headers: h.single,
    multiValueHeaders: h.multi,
    queryStringParameters: q ? q.single : null,
    multiValueQueryStringParameters: q ? q.multi : null,
    pathParameters: ctx.params,
    stageVariables: hasKeys(vars) ? vars : null,
    requestContext: {
      accountId: shape.accountId,
      apiId: shape.apiId,
      ...(ctx.authorizer !== null || ctx.principalId !== null ? { authorizer: authorizerV1(ctx) } : {}),
      domainName: domainNameOf(ctx),
      domainPrefix: domainPrefix(ctx.host),
      extendedRequestId: ctx.extendedRequestId,
      httpMethod: ctx.method,
      // With apiKeySource AUTHORIZER the key is the authorizer's usageIdentifierKey, not the header.
      identity: identityV1(ctx.sourceIp, userAgent, shape.apiKeyRequired ? (ctx.usageIdentifierKey ?? ctx.headers['x-api-key'] ?? null) : null, shape.apiKeyRequired ? ctx.apiKeyId : null),
      path: ctx.path,
      protocol: 'HTTP/1.1',
      requestId: ctx.requestId,
      requestTime: clfTime(ctx.startTime),
      requestTimeEpoch: ctx.startTime,
      resourceId: shape.resourceId,
      resourcePath: shape.resource,
      stage: ctx.stage.name,
      // Without an authorizer AWS sends no `authorizer` key; @types/aws-lambda declares it always present.
    } as APIGatewayProxyEvent['requestContext'],
    body: body === null ? null : binary ? body.toString('base64') : body.toString('utf8'),
    isBase64Encoded: binary,
  };
}

function buildV2(shape: EventShape, ctx: RequestContext, body: Buffer | null): APIGatewayProxyEventV2 {
  const { headers, cookies, query: queryStringParameters } = joinedMaps(ctx.rawHeaders, ctx.query);
  const fwd = forwardingHeaders(ctx);
  for (let i = 0; i < fwd.length; i += 2) {
    const name = fwd[i];
    const value = fwd[i + 1];
    if (name === undefined || value === undefined) break;
    headers[name.toLowerCase()] = value;
  }
  const vars = ctx.stage.variables;
  // HTTP APIs base64-encode what the API declares binary, and any body that is not valid text.
  const binary = body !== null && (shape.isBinary(ctx.headers['content-type']) || !isUtf8(body));
  const rawPath = rawPathV2(ctx, shape.basePathLength);
  return {
    version: '2.0',
    routeKey: shape.routeKey,
    rawPath,
    rawQueryString: ctx.query,
    ...(cookies !== undefined ? { cookies } : {}),
    headers,
    ...(queryStringParameters !== undefined ? { queryStringParameters } : {}),
    requestContext: {
      accountId: shape.accountId,
      apiId: shape.apiId,
      ...(ctx.authorizer !== null || ctx.principalId !== null ? { authorizer: authorizerV2(ctx) } : {}),
      domainName: domainNameOf(ctx),
      domainPrefix: domainPrefix(ctx.host),
      http: {
        method: ctx.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: ctx.sourceIp,
        userAgent: ctx.headers['user-agent'] ?? '',
      },
      requestId: ctx.requestId,
      routeKey: shape.routeKey,
      stage: ctx.stage.name,
      time: clfTime(ctx.startTime),
      timeEpoch: ctx.startTime,
    },
    ...(body !== null ? { body: binary ? body.toString('base64') : body.toString('utf8') } : {}),
    ...(ctx.params !== null ? { pathParameters: ctx.params } : {}),
    isBase64Encoded: binary,
    ...(hasKeys(vars) ? { stageVariables: vars } : {}),
  };
}

/**
 * REST `authorizer`: a Lambda authorizer's context values as strings (AWS hands `5` and `true` to the
 * integration as `"5"` and `"true"`), `principalId` and `integrationLatency`; for a JWT/Cognito
 * authorizer that stored them, `claims` and `scopes` as they are.
 */
function authorizerV1(ctx: RequestContext): Record<string, unknown> {
  const a: Record<string, unknown> = {};
  const context = ctx.authorizer;
  const lambda = ctx.authorizerLatency >= 0;
  if (context !== null) for (const k in context) a[k] = lambda && context[k] !== null && typeof context[k] !== 'object' ? String(context[k]) : context[k];
  if (ctx.principalId !== null) a.principalId = ctx.principalId;
  if (lambda) a.integrationLatency = ctx.authorizerLatency;
  return a;
}

/**
 * API Gateway adds X-Forwarded-For/Proto/Port and X-Amzn-Trace-Id to the headers a function sees; a
 * client's own values are replaced (X-Forwarded-For extended), never taken as the gateway's.
 */
function addForwarding(single: Record<string, string>, multi: Record<string, string[]>, ctx: RequestContext): void {
  const fwd = forwardingHeaders(ctx);
  for (let i = 0; i < fwd.length; i += 2) {
    const name = fwd[i];
    const value = fwd[i + 1];
    if (name === undefined || value === undefined) break;
    single[name] = value;
    multi[name] = [value];
  }
}

/** The Host the client used, port included (`localhost:8080`), lowercased; the same for REST, HTTP and WebSocket APIs. */
function domainNameOf(ctx: RequestContext): string {
  const h = ctx.headers.host;
  return h ? h.toLowerCase() : ctx.host;
}

/** HTTP API `authorizer`: `{jwt: {claims, scopes}}` for a JWT authorizer, `{lambda: context}` for a Lambda one. */
function authorizerV2(ctx: RequestContext): Record<string, unknown> {
  const a = ctx.authorizer ?? {};
  if ('claims' in a) return { jwt: { claims: a.claims, scopes: a.scopes ?? null } };
  return { ...(ctx.principalId !== null ? { principalId: ctx.principalId } : {}), lambda: a };
}

/** REST `path`: the request path without the stage segment (a custom domain's base path stays). */
function pathWithoutStage(ctx: RequestContext): string {
  if (ctx.stage.isDefault) return ctx.path;
  const parts = ctx.path.split('/');
  // parts[0] is '' (leading slash); the stage segment sits just before routeOffset.
  parts.splice(ctx.routeOffset, 1);
  return parts.length === 1 ? '/' : parts.join('/');
}

/** HTTP API `rawPath`: the path without the API mapping's base path, with a named stage's prefix. */
function rawPathV2(ctx: RequestContext, basePathLength: number): string {
  if (basePathLength === 0) return ctx.path;
  const parts = ctx.path.split('/');
  parts.splice(1, basePathLength);
  return parts.length === 1 ? '/' : parts.join('/');
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
