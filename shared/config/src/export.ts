import type { Obj } from '@turnpike/codec/plain';
import type { TurnpikeConfig } from './load.js';
import type { ApiConfig, AuthorizerConfig, IntegrationConfig, MappingConfig, RouteConfig } from './schema.js';

/**
 * An API written back as the document `aws apigateway get-export --extensions apigateway` gives:
 * OpenAPI 3 (`oas30`) or Swagger 2.0 (`swagger`) with `x-amazon-apigateway-*` extensions, so that
 * import → export → import is stable and an API can go back to AWS. Functions become Lambda invocation
 * URIs in the gateway's region and account.
 */

export function exportApi(config: TurnpikeConfig, apiName: string, stage: string, format: 'oas30' | 'swagger'): Obj {
  const api = config.apis.find((a) => a.name === apiName);
  if (!api) throw new Error(`no API named "${apiName}" (APIs: ${config.apis.map((a) => a.name).join(', ')})`);
  if (api.type === 'websocket') throw new Error(`API "${apiName}" is a WebSocket API: only REST and HTTP APIs export to OpenAPI`);
  if (!(stage in api.stages)) throw new Error(`API "${apiName}" has no stage "${stage}" (stages: ${Object.keys(api.stages).join(', ')})`);
  const { region, accountId } = config.gateway;
  const lambdaUri = (fn: string) => `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/arn:aws:lambda:${region}:${accountId}:function:${fn}/invocations`;
  const doc = toOas30(api, stage, lambdaUri);
  return format === 'oas30' ? doc : toSwagger(doc);
}

function toOas30(api: ApiConfig, stage: string, lambdaUri: (fn: string) => string): Obj {
  const paths: Record<string, Obj> = {};
  const schemes: Obj = {};
  const validators: Obj = {};
  for (const [name, a] of Object.entries(api.authorizers)) schemes[name] = securityScheme(a, lambdaUri);
  for (const [key, route] of Object.entries(api.routes)) {
    const space = key.indexOf(' ');
    const method = key.slice(0, space);
    const path = key.slice(space + 1);
    const op: Obj = {};
    const params = [...path.matchAll(/\{([A-Za-z0-9_]+)\+?\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const security: Obj[] = [];
    if (route.apiKeyRequired) {
      schemes.api_key = { type: 'apiKey', name: 'x-api-key', in: 'header' };
      security.push({ api_key: [] });
    }
    if (route.authorizer) security.push({ [route.authorizer]: route.authorizationScopes ?? [] });
    if (security.length) op.security = security;
    const v = route.requestValidation;
    if (v) {
      for (const q of v.requiredQueryStrings) params.push({ name: q, in: 'query', required: true, schema: { type: 'string' } });
      for (const h of v.requiredHeaders) params.push({ name: h, in: 'header', required: true, schema: { type: 'string' } });
      const body = Object.keys(v.bodyModels).length > 0;
      const params_ = v.requiredQueryStrings.length + v.requiredHeaders.length > 0;
      const name = body && params_ ? 'body-and-params' : body ? 'body-only' : params_ ? 'params-only' : 'none';
      validators[name] = { validateRequestBody: body, validateRequestParameters: params_ };
      op['x-amazon-apigateway-request-validator'] = name;
      if (body) op.requestBody = { required: true, content: Object.fromEntries(Object.entries(v.bodyModels).map(([t, schema]) => [t, { schema }])) };
    }
    if (params.length) op.parameters = params;
    op['x-amazon-apigateway-integration'] = integration(route, lambdaUri);
    (paths[path] ??= {})[method === 'ANY' ? 'x-amazon-apigateway-any-method' : method.toLowerCase()] = op;
  }
  const doc: Obj = {
    openapi: '3.0.1',
    info: { title: api.name, version: '1' },
    servers: [{ url: '/{basePath}', variables: { basePath: { default: stage === '$default' ? '' : stage } } }],
    paths,
  };
  if (Object.keys(schemes).length) doc.components = { securitySchemes: schemes };
  if (Object.keys(validators).length) doc['x-amazon-apigateway-request-validators'] = validators;
  // The marker only HTTP API exports carry, so the import knows the API's kind again (docs/aws-behaviour.md).
  if (api.type === 'http') doc['x-amazon-apigateway-importexport-version'] = '1.0';
  if (api.binaryMediaTypes.length) doc['x-amazon-apigateway-binary-media-types'] = api.binaryMediaTypes;
  if (api.apiKeySource) doc['x-amazon-apigateway-api-key-source'] = api.apiKeySource;
  if (api.cors) doc['x-amazon-apigateway-cors'] = api.cors;
  if (api.gatewayResponses && Object.keys(api.gatewayResponses).length) doc['x-amazon-apigateway-gateway-responses'] = api.gatewayResponses;
  return doc;
}

function integration(route: RouteConfig, lambdaUri: (fn: string) => string): Obj {
  const i: IntegrationConfig = route.integration;
  switch (i.type) {
    case 'http_proxy':
    case 'http':
      return {
        type: i.type,
        uri: i.uri,
        httpMethod: i.method ?? 'ANY',
        timeoutInMillis: i.timeoutMs,
        ...(Object.keys(i.requestHeaders).length + Object.keys(i.requestQuery).length ? { requestParameters: { ...requestParameters('header', i.requestHeaders), ...requestParameters('querystring', i.requestQuery) } } : {}),
        ...(i.type === 'http' ? mappingFields(i.mapping) : {}),
      };
    case 'mock':
      if (i.mapping) return { type: 'mock', ...mappingFields(i.mapping) };
      return {
        type: 'mock',
        requestTemplates: { 'application/json': `{"statusCode": ${i.statusCode}}` },
        responses: {
          default: {
            statusCode: String(i.statusCode),
            ...(Object.keys(i.headers).length ? { responseParameters: Object.fromEntries(Object.entries(i.headers).map(([k, v]) => [`method.response.header.${k}`, `'${v}'`])) } : {}),
            ...(i.body ? { responseTemplates: { 'application/json': i.body } } : {}),
          },
        },
      };
    case 'function':
      return {
        type: i.mapping ? 'aws' : 'aws_proxy',
        httpMethod: 'POST',
        uri: lambdaUri(i.function),
        timeoutInMillis: i.timeoutMs,
        ...(i.mapping ? mappingFields(i.mapping) : { payloadFormatVersion: i.payloadFormatVersion }),
        ...(i.invocationType === 'Event' ? { requestParameters: { 'integration.request.header.X-Amz-Invocation-Type': "'Event'" } } : {}),
      };
  }
}

/** Values back to API Gateway's sources: a lone `${stageVariables.x}`, `${context.x}`, `${request.header.x}`... is a reference, the rest static. */
function requestParameters(target: 'header' | 'querystring', values: Record<string, string>): Obj {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => {
      const ref = /^\$\{((?:stageVariables|context)\.[A-Za-z0-9_.]+|request\.(?:header|querystring|path)\.[^}]+)\}$/.exec(v);
      const name = ref?.[1];
      const source = name === undefined ? `'${v}'` : name.startsWith('request.') ? `method.${name}` : name;
      return [`integration.request.${target}.${k}`, source];
    }),
  );
}

function mappingFields(m: MappingConfig): Obj {
  const responses: Obj = {};
  for (const r of m.responses) {
    responses[r.selectionPattern ?? 'default'] = {
      statusCode: String(r.statusCode),
      ...(Object.keys(r.responseParameters).length ? { responseParameters: r.responseParameters } : {}),
      ...(Object.keys(r.responseTemplates).length ? { responseTemplates: r.responseTemplates } : {}),
      ...(r.contentHandling ? { contentHandling: r.contentHandling } : {}),
    };
  }
  return {
    ...(Object.keys(m.requestTemplates).length ? { requestTemplates: m.requestTemplates } : {}),
    passthroughBehavior: m.passthroughBehavior.toLowerCase(),
    ...(m.contentHandling ? { contentHandling: m.contentHandling } : {}),
    responses,
  };
}

function securityScheme(a: AuthorizerConfig, lambdaUri: (fn: string) => string): Obj {
  const header = (source: string) => source.replace(/^(?:method\.request|\$request)\.header\./, '');
  switch (a.type) {
    case 'token':
      return {
        type: 'apiKey', name: header(a.identitySource), in: 'header', 'x-amazon-apigateway-authtype': 'custom',
        'x-amazon-apigateway-authorizer': {
          type: 'token', authorizerUri: lambdaUri(a.function), identitySource: a.identitySource, authorizerResultTtlInSeconds: a.resultTtlSeconds,
          ...(a.identityValidationExpression !== undefined ? { identityValidationExpression: a.identityValidationExpression } : {}),
        },
      };
    case 'request':
      return {
        type: 'apiKey', name: 'Unused', in: 'header', 'x-amazon-apigateway-authtype': 'custom',
        'x-amazon-apigateway-authorizer': {
          type: 'request', authorizerUri: lambdaUri(a.function), identitySource: a.identitySource.join(', '), authorizerResultTtlInSeconds: a.resultTtlSeconds,
          authorizerPayloadFormatVersion: a.payloadFormatVersion, ...(a.enableSimpleResponses ? { enableSimpleResponses: true } : {}),
        },
      };
    case 'jwt':
      return { type: 'oauth2', flows: {}, 'x-amazon-apigateway-authorizer': { type: 'jwt', identitySource: a.identitySource, jwtConfiguration: { issuer: a.issuer, audience: a.audiences } } };
    case 'cognito_user_pools':
      return {
        type: 'apiKey', name: header(a.identitySource), in: 'header', 'x-amazon-apigateway-authtype': 'cognito_user_pools',
        'x-amazon-apigateway-authorizer': { type: 'cognito_user_pools', providerARNs: a.userPools, identitySource: a.identitySource },
      };
  }
}

/** The same document as Swagger 2.0 (`--format swagger`). */
function toSwagger(doc: Obj): Obj {
  const { openapi: _o, servers, components, paths, ...rest } = doc as { openapi: unknown; servers: { variables: { basePath: { default: string } } }[]; components?: { securitySchemes?: Obj }; paths: Record<string, Record<string, Obj>> };
  const stage = servers[0]?.variables.basePath.default ?? '';
  const out: Obj = { swagger: '2.0', ...rest, basePath: stage ? `/${stage}` : '/', schemes: ['https'] };
  if (components?.securitySchemes) out.securityDefinitions = components.securitySchemes;
  const swaggerPaths: Record<string, Obj> = {};
  for (const [path, ops] of Object.entries(paths)) {
    const item: Obj = {};
    for (const [method, op] of Object.entries(ops)) {
      const { parameters, requestBody, ...rest } = op as { parameters?: Obj[]; requestBody?: { content: Record<string, { schema: unknown }> } };
      const kept: Obj = rest;
      const params: Obj[] = (parameters ?? []).map(({ schema, ...p }) => ({ ...p, type: (schema as { type?: string } | undefined)?.type ?? 'string' }));
      if (requestBody) {
        // Swagger has one body schema per operation, for every type it consumes.
        const [media] = Object.values(requestBody.content);
        if (media) params.push({ in: 'body', name: 'body', required: true, schema: media.schema });
        kept.consumes = Object.keys(requestBody.content);
      }
      item[method] = { ...(params.length ? { parameters: params } : {}), ...kept };
    }
    swaggerPaths[path] = item;
  }
  out.paths = swaggerPaths;
  return out;
}
