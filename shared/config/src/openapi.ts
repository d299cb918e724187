import type { ConfigIssue } from './errors.js';
import { moveRefs } from './jsonSchema.js';
import { lineOf, sourcePath, zodIssues, type SourceDoc } from './source.js';
import { Cors, GATEWAY_RESPONSE_TYPES, GatewayResponse, HTTP_METHODS, ROUTE_KEY, Route, type CorsConfig, type GatewayResponseConfig, type RouteConfig } from './schema.js';
import type { AuthorizerConfig } from './schema.js';
import { importAuthorizer, routeAuthorization, schemeMeaning, type SchemeMeaning } from './openapiAuthorizers.js';
import { functionNameOf, isObj, type Obj } from '@turnpike/codec/plain';
import { routePathParameters, undefinedParameterMessage, undefinedUriParameters } from './pathParameters.js';

/**
 * Imports an OpenAPI 3 document with API Gateway's `x-amazon-apigateway-*` extensions, as
 * `aws apigateway get-export --export-type oas30 --extensions apigateway` writes it.
 * Every extension is either mapped or named in a warning: nothing is skipped silently.
 */
export interface ImportedApi {
  name: string;
  routes: Record<string, RouteConfig>;
  binaryMediaTypes: string[];
  /** From securitySchemes with `x-amazon-apigateway-authorizer`, by scheme name. */
  authorizers: Record<string, AuthorizerConfig>;
  /** From `x-amazon-apigateway-cors`; the Turnpike file's own `cors` wins. */
  cors?: CorsConfig;
  /** From `x-amazon-apigateway-api-key-source`. */
  apiKeySource?: 'HEADER' | 'AUTHORIZER';
  /** `http` when the document carries HTTP API markers (see httpApiMarker), else `rest`. */
  kind: 'rest' | 'http';
  /**
   * The path of the first `servers` URL (Swagger: `basePath`), variables at their defaults: AWS exports
   * write the stage there (`https://ID.execute-api.REGION.amazonaws.com/{basePath}`, default `prod`).
   */
  serverPath?: string;
  /** From `x-amazon-apigateway-gateway-responses`. */
  gatewayResponses: Partial<Record<GatewayResponseType, GatewayResponseConfig>>;
}

type GatewayResponseType = (typeof GATEWAY_RESPONSE_TYPES)[number];


/** Extensions this importer understands, by where they may appear. */
const DOCUMENT_EXTENSIONS = new Set([
  'x-amazon-apigateway-binary-media-types', 'x-amazon-apigateway-api-key-source', 'x-amazon-apigateway-importexport-version', 'x-amazon-apigateway-cors',
  'x-amazon-apigateway-request-validators', 'x-amazon-apigateway-request-validator', 'x-amazon-apigateway-gateway-responses',
]);
const OPERATION_EXTENSIONS = new Set(['x-amazon-apigateway-integration', 'x-amazon-apigateway-request-validator']);
const PATH_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'x-amazon-apigateway-any-method']);

export function importOpenApi(src: SourceDoc, issues: ConfigIssue[], warnings: ConfigIssue[]): ImportedApi {
  const doc = src.data as Obj;
  const at = (path: PropertyKey[]) => ({ file: src.file, path: sourcePath(src, path), line: lineOf(src, path) });
  const warn = (path: PropertyKey[], message: string) => warnings.push({ ...at(path), message });
  const fail = (path: PropertyKey[], message: string) => issues.push({ ...at(path), message });

  if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.')) fail(['openapi'], `only OpenAPI 3.x and Swagger 2.0 are supported (found ${JSON.stringify(doc.openapi)})`);
  const info = isObj(doc.info) ? doc.info : {};
  const name = String(info.title ?? 'api').replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 128) || 'api';

  for (const key of Object.keys(doc)) {
    // A resource policy restricts who may call the API: serving it without the policy would open it.
    if (key === 'x-amazon-apigateway-policy') fail([key], 'resource policies are not enforced by Turnpike; serving this API without it would admit callers the policy denies (remove the extension to serve it anyway)');
    else if (key.startsWith('x-amazon-apigateway-') && !DOCUMENT_EXTENSIONS.has(key)) warn([key], `extension ${key} is not supported yet and is ignored`);
  }
  const binaryMediaTypes = Array.isArray(doc['x-amazon-apigateway-binary-media-types'])
    ? (doc['x-amazon-apigateway-binary-media-types'] as unknown[]).map(String)
    : [];

  const authorizers: Record<string, AuthorizerConfig> = {};
  const schemeMeanings = new Map<string, SchemeMeaning>();
  const schemes = isObj(doc.components) && isObj(doc.components.securitySchemes) ? doc.components.securitySchemes : {};
  for (const [schemeName, scheme] of Object.entries(schemes)) {
    if (!isObj(scheme)) continue;
    const authorizer = importAuthorizer(src, scheme, ['components', 'securitySchemes', schemeName], warn, issues);
    if (authorizer) authorizers[schemeName] = authorizer;
    schemeMeanings.set(schemeName, schemeMeaning(scheme, authorizer));
  }
  const globalSecurity = Array.isArray(doc.security) ? doc.security : [];

  const routes: Record<string, RouteConfig> = {};
  const paths = isObj(doc.paths) ? doc.paths : {};
  if (!isObj(doc.paths)) fail(['paths'], 'an OpenAPI document needs a paths object');

  for (const [path, item] of Object.entries(paths)) {
    if (!isObj(item)) continue;
    for (const [op, operation] of Object.entries(item)) {
      const where: PropertyKey[] = ['paths', path, op];
      if (!PATH_METHODS.has(op)) {
        if (op.startsWith('x-amazon-apigateway-')) warn(where, `extension ${op} is not supported yet and is ignored`);
        continue;
      }
      if (!isObj(operation)) continue;
      for (const key of Object.keys(operation)) {
        if (key === 'x-amazon-apigateway-auth') {
          // HTTP APIs' per-route IAM authorization: refused rather than served open.
          const authType = isObj(operation[key]) ? String((operation[key] as Obj).type ?? '').toUpperCase() : '';
          if (authType !== 'NONE') fail([...where, key], `x-amazon-apigateway-auth type ${JSON.stringify(authType)} (IAM) cannot be enforced by Turnpike; the route would be open`);
        } else if (key.startsWith('x-amazon-apigateway-') && !OPERATION_EXTENSIONS.has(key)) warn([...where, key], `extension ${key} is not supported yet and is ignored`);
      }
      const method = op === 'x-amazon-apigateway-any-method' ? 'ANY' : op.toUpperCase();
      const routeKey = `${method} ${path}`;
      if (!ROUTE_KEY.test(routeKey)) {
        fail(['paths', path], `path "${path}" is not a valid route path (literal segments, {param}, and a final {name+})`);
        continue;
      }
      const integration = resolveRef(doc, operation['x-amazon-apigateway-integration']);
      if (!isObj(integration)) {
        // HTTP API exports leave OPTIONS without an integration: the API's CORS answers preflights.
        if (method === 'OPTIONS' && doc['x-amazon-apigateway-cors'] !== undefined) continue;
        const ref = isObj(operation['x-amazon-apigateway-integration']) ? (operation['x-amazon-apigateway-integration'] as Obj).$ref : undefined;
        fail([...where], ref !== undefined ? `x-amazon-apigateway-integration $ref ${JSON.stringify(ref)} does not resolve in this document` : 'operation has no x-amazon-apigateway-integration');
        continue;
      }
      const mapped = mapIntegration(integration, path, [...where, 'x-amazon-apigateway-integration'], warn, fail);
      if (!mapped) continue;
      const security = Array.isArray(operation.security) ? operation.security : globalSecurity;
      const requestValidation = importValidation(doc, item, operation, where, fail);
      const parsed = Route.safeParse({ integration: mapped, ...(requestValidation ? { requestValidation } : {}), ...routeAuthorization(security, schemeMeanings, where, warn, fail) });
      if (!parsed.success) {
        // Turnpike's `integration.X` and `integration.mapping.X` are the extension's own `X`.
        const strip = (p: PropertyKey[]) => (p[0] === 'integration' ? p.slice(p[1] === 'mapping' ? 2 : 1) : p);
        const error = { issues: parsed.error.issues.map((i) => ({ ...i, path: strip(i.path as PropertyKey[]) })) } as unknown as typeof parsed.error;
        issues.push(...zodIssues(src, error, [...where, 'x-amazon-apigateway-integration']));
        continue;
      }
      routes[routeKey] = parsed.data;
    }
  }
  const keySource = doc['x-amazon-apigateway-api-key-source'];
  const apiKeySource = keySource === 'HEADER' || keySource === 'AUTHORIZER' ? keySource : undefined;
  if (keySource !== undefined && !apiKeySource) fail(['x-amazon-apigateway-api-key-source'], `must be HEADER or AUTHORIZER (found ${JSON.stringify(keySource)})`);
  return { name, routes, binaryMediaTypes, authorizers, cors: importCors(src, issues), apiKeySource, serverPath: serverPath(doc), gatewayResponses: importGatewayResponses(src, issues, warn), kind: httpApiMarker(doc) ? 'http' : 'rest' };
}

/**
 * Only HTTP API exports (`aws apigatewayv2 export-api`) carry `x-amazon-apigateway-importexport-version`,
 * `x-amazon-apigateway-cors`, `components.x-amazon-apigateway-integrations` or an integration's
 * `payloadFormatVersion`; REST exports never do.
 */
function httpApiMarker(doc: Obj): boolean {
  if ('x-amazon-apigateway-importexport-version' in doc || 'x-amazon-apigateway-cors' in doc) return true;
  if (isObj(doc.components) && 'x-amazon-apigateway-integrations' in doc.components) return true;
  for (const item of Object.values(isObj(doc.paths) ? doc.paths : {})) {
    if (!isObj(item)) continue;
    for (const op of Object.values(item)) {
      if (isObj(op) && isObj(op['x-amazon-apigateway-integration']) && 'payloadFormatVersion' in op['x-amazon-apigateway-integration']) return true;
    }
  }
  return false;
}

function importGatewayResponses(src: SourceDoc, issues: ConfigIssue[], warn: Report): Partial<Record<GatewayResponseType, GatewayResponseConfig>> {
  const raw = (src.data as Obj)['x-amazon-apigateway-gateway-responses'];
  const out: Partial<Record<GatewayResponseType, GatewayResponseConfig>> = {};
  if (!isObj(raw)) return out;
  for (const [type, r] of Object.entries(raw)) {
    const where = ['x-amazon-apigateway-gateway-responses', type];
    if (!(GATEWAY_RESPONSE_TYPES as readonly string[]).includes(type)) {
      warn(where, `gateway response type ${type} is not one Turnpike produces and is ignored`);
      continue;
    }
    if (!isObj(r)) continue;
    const parsed = GatewayResponse.safeParse({ ...r, ...(r.statusCode !== undefined ? { statusCode: Number(r.statusCode) } : {}) });
    if (parsed.success) out[type as GatewayResponseType] = parsed.data;
    else issues.push(...zodIssues(src, parsed.error, where));
  }
  return out;
}

function serverPath(doc: Obj): string | undefined {
  const server = Array.isArray(doc.servers) && isObj(doc.servers[0]) ? doc.servers[0] : undefined;
  if (!server || typeof server.url !== 'string') return undefined;
  const vars = isObj(server.variables) ? server.variables : {};
  const url = server.url.replace(/\{([^}]+)\}/g, (_, v: string) => {
    const d = vars[v];
    return isObj(d) && d.default !== undefined ? String(d.default) : '';
  });
  const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').replace(/\/+$/, '');
  return path && path !== '/' ? path : undefined;
}

/**
 * The request validator an operation names (`x-amazon-apigateway-request-validator`, else the document's):
 * required query strings and headers from its parameters, body models from its requestBody, made
 * self-contained (component schemas become the model's `definitions`).
 */
function importValidation(doc: Obj, item: Obj, operation: Obj, where: PropertyKey[], fail: Report): unknown {
  const name = operation['x-amazon-apigateway-request-validator'] ?? doc['x-amazon-apigateway-request-validator'];
  if (name === undefined) return undefined;
  const validators = isObj(doc['x-amazon-apigateway-request-validators']) ? doc['x-amazon-apigateway-request-validators'] : {};
  const v = validators[String(name)];
  if (!isObj(v)) {
    fail([...where, 'x-amazon-apigateway-request-validator'], `request validator ${JSON.stringify(name)} is not defined in x-amazon-apigateway-request-validators`);
    return undefined;
  }
  if (v.validateRequestParameters !== true && v.validateRequestBody !== true) return undefined;
  const out = { requiredQueryStrings: [] as string[], requiredHeaders: [] as string[], bodyModels: {} as Record<string, unknown> };
  if (v.validateRequestParameters === true) {
    for (const raw of [...(Array.isArray(item.parameters) ? item.parameters : []), ...(Array.isArray(operation.parameters) ? operation.parameters : [])]) {
      const p = resolveRef(doc, raw);
      if (!isObj(p) || p.required !== true || typeof p.name !== 'string') continue;
      if (p.in === 'query') out.requiredQueryStrings.push(p.name);
      else if (p.in === 'header') out.requiredHeaders.push(p.name);
    }
  }
  if (v.validateRequestBody === true) {
    const body = resolveRef(doc, operation.requestBody);
    const content = isObj(body) && isObj(body.content) ? body.content : {};
    const schemas = isObj(doc.components) && isObj(doc.components.schemas) ? doc.components.schemas : {};
    const definitions = toDefinitions(schemas) as Obj;
    for (const [type, media] of Object.entries(content)) {
      if (!isObj(media) || !isObj(media.schema)) continue;
      out.bodyModels[type.toLowerCase()] = { ...(toDefinitions(media.schema) as Obj), ...(Object.keys(definitions).length ? { definitions } : {}) };
    }
  }
  // A validator with nothing to check (no required parameter, no model) is no validator.
  if (!out.requiredQueryStrings.length && !out.requiredHeaders.length && !Object.keys(out.bodyModels).length) return undefined;
  return out;
}

/** `#/components/schemas/X` → `#/definitions/X`, so a model carries the schemas it refers to. */
const toDefinitions = (v: unknown) => moveRefs(v, '#/components/schemas/', '#/definitions/');

/** A local `$ref` (`#/components/x-amazon-apigateway-integrations/NAME`, as HTTP API exports write them). */
function resolveRef(doc: Obj, v: unknown): unknown {
  if (!isObj(v) || typeof v.$ref !== 'string') return v;
  if (!v.$ref.startsWith('#/')) return undefined;
  let at: unknown = doc;
  for (const part of v.$ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    at = isObj(at) ? at[key] : undefined;
  }
  return at;
}

function isPassthrough(target: string, src: string): boolean {
  const t = /^integration\.request\.(header|querystring)\.(.+)$/.exec(target);
  const s = /^method\.request\.(header|querystring)\.(.+)$/.exec(src);
  const [, targetIn, targetName] = t ?? [];
  const [, sourceIn, sourceName] = s ?? [];
  return targetIn !== undefined && targetIn === sourceIn && targetName !== undefined && targetName.toLowerCase() === sourceName?.toLowerCase();
}

type Report = (path: PropertyKey[], message: string) => void;

function mapIntegration(x: Obj, routePath: string, where: PropertyKey[], warn: Report, fail: Report): unknown {
  const type = String(x.type ?? '').toLowerCase();
  const ignored = (keys: string[]) => {
    for (const k of keys) if (k in x) warn([...where, k], `integration field ${k} is not supported for type ${type} and is ignored`);
  };
  switch (type) {
    case 'http_proxy':
    case 'http': {
      // AWS itself ignores `responses`, `passthroughBehavior` and `requestTemplates` on proxy integrations
      // (exports carry them anyway), so they load without a warning; the rest change behaviour we lack.
      ignored([...(type === 'http' ? [] : ['contentHandling']), 'connectionType', 'connectionId', 'tlsConfig', 'cacheKeyParameters', 'cacheNamespace', 'integrationSubtype']);
      const { uri, requestHeaders, requestQuery } = mapRequestParameters(String(x.uri ?? ''), x.requestParameters, routePath, where, warn, fail, type === 'http_proxy');
      const httpMethod = String(x.httpMethod ?? 'ANY').toUpperCase();
      return {
        type: type === 'http' ? 'http' : 'http_proxy',
        uri,
        ...(httpMethod !== 'ANY' && (HTTP_METHODS as readonly string[]).includes(httpMethod) ? { method: httpMethod } : {}),
        ...(x.timeoutInMillis !== undefined ? { timeoutMs: Number(x.timeoutInMillis) } : {}),
        requestHeaders,
        requestQuery,
        ...(type === 'http' ? { mapping: mapMapping(x, where, warn) } : {}),
      };
    }
    case 'mock':
      return mapMock(x, where, warn);
    case 'aws_proxy':
      return mapFunctionIntegration(x, where, warn, fail);
    case 'aws': {
      const uri = String(x.uri ?? '');
      if (/:lambda:path\/[^/]+\/functions\//.test(uri)) return mapFunctionIntegration(x, where, warn, fail, mapMapping(x, where, warn));
      const service = /^arn:aws[a-z-]*:apigateway:[^:]*:([a-z0-9-]+):(action|path)\/(.*)$/.exec(uri);
      const [, awsService, kind, target] = service ?? [];
      const what = awsService === undefined ? JSON.stringify(uri) : `${awsService}:${kind}/${target} (${AWS_SERVICES[awsService] ?? awsService})`;
      fail([...where, 'uri'], `AWS service integration ${what} has no local equivalent in Turnpike; serve it with a function (aws_proxy or a non-proxy Lambda integration) or an http integration`);
      return undefined;
    }
    default:
      fail([...where, 'type'], `integration type "${String(x.type)}" is not supported (supported: http_proxy, http, mock, aws_proxy, aws with a Lambda function)`);
      return undefined;
  }
}

const AWS_SERVICES: Record<string, string> = {
  states: 'Step Functions', sqs: 'SQS', sns: 'SNS', dynamodb: 'DynamoDB', s3: 'S3', kinesis: 'Kinesis', firehose: 'Kinesis Data Firehose',
  events: 'EventBridge', lambda: 'Lambda (not a function invocation)', sts: 'STS', ses: 'SES', appconfig: 'AppConfig',
};

/** `requestTemplates`, `passthroughBehavior` and `responses` (keyed by selection pattern, `default` the default). */
function mapMapping(x: Obj, where: PropertyKey[], warn: Report): unknown {
  const responses: unknown[] = [];
  for (const [pattern, r] of Object.entries(isObj(x.responses) ? x.responses : {})) {
    if (!isObj(r)) continue;
    for (const k of Object.keys(r)) {
      if (!['statusCode', 'responseParameters', 'responseTemplates', 'selectionPattern', 'contentHandling'].includes(k)) warn([...where, 'responses', pattern, k], `integration response field ${k} is not supported and is ignored`);
    }
    const selectionPattern = typeof r.selectionPattern === 'string' ? r.selectionPattern : pattern === 'default' ? undefined : pattern;
    responses.push({
      ...(selectionPattern !== undefined ? { selectionPattern } : {}),
      statusCode: Number(r.statusCode ?? 200),
      responseParameters: isObj(r.responseParameters) ? r.responseParameters : {},
      responseTemplates: isObj(r.responseTemplates) ? r.responseTemplates : {},
      ...(r.contentHandling !== undefined ? { contentHandling: r.contentHandling } : {}),
    });
  }
  const behaviour = x.passthroughBehavior === undefined ? undefined : String(x.passthroughBehavior).toUpperCase();
  return {
    requestTemplates: isObj(x.requestTemplates) ? x.requestTemplates : {},
    ...(behaviour !== undefined ? { passthroughBehavior: behaviour } : {}),
    ...(x.contentHandling !== undefined ? { contentHandling: x.contentHandling } : {}),
    ...(responses.length ? { responses } : {}),
  };
}

const VTL = /[$#]/;

/**
 * A mock whose templates are plain text with one response is a fixed response (no per-request work);
 * any other runs API Gateway's mock: the request template selects the response, whose template renders.
 */
function mapMock(x: Obj, where: PropertyKey[], warn: Report): unknown {
  const responses = isObj(x.responses) ? x.responses : {};
  const keys = Object.keys(responses);
  const [onlyKey, ...otherKeys] = keys;
  const only = onlyKey !== undefined && otherKeys.length === 0 ? responses[onlyKey] : undefined;
  const dflt = isObj(responses.default) ? responses.default : isObj(only) ? only : undefined;
  const templates = dflt && isObj(dflt.responseTemplates) ? Object.entries(dflt.responseTemplates) : [];
  const requestTemplates = isObj(x.requestTemplates) ? Object.values(x.requestTemplates) : [];
  const params = dflt && isObj(dflt.responseParameters) ? Object.entries(dflt.responseParameters) : [];
  const requestStatus = requestTemplates.length ? /^\s*\{\s*"statusCode"\s*:\s*(\d{3})\s*\}\s*$/.exec(String(requestTemplates[0])) : null;
  const behaviour = String(x.passthroughBehavior ?? 'WHEN_NO_MATCH').toUpperCase();
  const fixed =
    behaviour === 'WHEN_NO_MATCH' &&
    x.contentHandling === undefined &&
    (dflt === undefined || dflt.contentHandling === undefined) &&
    keys.length <= 1 &&
    templates.length <= 1 &&
    templates.every(([, t]) => typeof t === 'string' && !VTL.test(t)) &&
    (requestTemplates.length === 0 || (requestTemplates.length === 1 && requestStatus !== null)) &&
    params.every(([k, v]) => /^method\.response\.header\./.test(k) && /^'.*'$/s.test(String(v)));
  if (!fixed) return { type: 'mock', mapping: mapMapping(x, where, warn) };
  const headers: Record<string, string> = {};
  for (const [k, v] of params) headers[k.slice('method.response.header.'.length)] = String(v).slice(1, -1);
  const [contentType, body] = templates[0] ?? ['application/json', ''];
  if (contentType !== 'application/json' && body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = contentType;
  return { type: 'mock', statusCode: Number(dflt?.statusCode ?? requestStatus?.[1] ?? 200), headers, body: String(body) };
}

/**
 * The Lambda proxy integration: `uri` is API Gateway's invocation URI of a Lambda function
 * (`arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCT:function:NAME/invocations`),
 * served by the Turnpike function NAME. `X-Amz-Invocation-Type: 'Event'` in requestParameters makes it asynchronous.
 */
function mapFunctionIntegration(x: Obj, where: PropertyKey[], warn: Report, fail: Report, mapping?: unknown): unknown {
  const uri = String(x.uri ?? '');
  const fn = functionNameOf(uri);
  if (fn === null || !uri.includes(':function:')) {
    fail([...where, 'uri'], `"${uri}" is not a Lambda function invocation URI (arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME/invocations)`);
    return undefined;
  }
  const qualifier = /:function:[A-Za-z0-9_-]+:([A-Za-z0-9_$-]+)(?:\/invocations)?$/.exec(uri)?.[1];
  if (qualifier !== undefined) warn([...where, 'uri'], `alias or version "${qualifier}" of function ${fn} is served by the Turnpike function ${fn}, which has no aliases or versions`);
  for (const k of ['contentHandling', 'credentials', 'cacheKeyParameters', 'cacheNamespace', 'connectionType', 'tlsConfig']) {
    if (k in x) warn([...where, k], `integration field ${k} is not supported for type aws_proxy and is ignored`);
  }
  let invocationType: 'Event' | undefined;
  let invocationTypeFrom: string | undefined;
  if (isObj(x.requestParameters)) {
    for (const [target, source] of Object.entries(x.requestParameters)) {
      const mapsInvocationType = target.toLowerCase() === 'integration.request.header.x-amz-invocation-type';
      const header = /^method\.request\.header\.(.+)$/.exec(String(source));
      if (mapsInvocationType && String(source) === "'Event'") invocationType = 'Event';
      else if (mapsInvocationType && header) invocationTypeFrom = header[1];
      else warn([...where, 'requestParameters', target], `request parameter ${target} is not supported for aws_proxy integrations and is ignored`);
    }
  }
  return {
    type: 'function',
    function: fn,
    ...(x.payloadFormatVersion !== undefined ? { payloadFormatVersion: String(x.payloadFormatVersion) } : {}),
    ...(invocationType ? { invocationType } : {}),
    ...(invocationTypeFrom ? { invocationTypeFrom } : {}),
    ...(x.timeoutInMillis !== undefined ? { timeoutMs: Number(x.timeoutInMillis) } : {}),
    ...(mapping !== undefined ? { mapping } : {}),
  };
}

/**
 * `requestParameters` maps method request values onto the integration request. Path mappings rename
 * `{name}` in the URI; header and query string targets take static values, stage variables, `context.*`
 * and the request's headers, query parameters and path parameters. A same-name header or query mapping is
 * what a proxy forwards anyway. Anything else is named in a warning.
 */
function mapRequestParameters(uri: string, params: unknown, routePath: string, integration: PropertyKey[], warn: Report, fail: Report, proxy: boolean) {
  const requestHeaders: Record<string, string> = {};
  const requestQuery: Record<string, string> = {};
  const defined = routePathParameters(routePath);
  const where = [...integration, 'requestParameters'];
  // A URI parameter a path mapping fills from an undefined method parameter is reported at the mapping.
  const reported = new Set<string>();
  for (const [target, source] of Object.entries(isObj(params) ? params : {})) {
    const src = String(source);
    const request = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(src);
    const pathParameter = request?.[1] === 'path' ? request[2] : undefined;
    if (pathParameter !== undefined && !defined.has(pathParameter)) {
      fail([...where, target], undefinedParameterMessage(`request parameter mapping ${target}`, src, routePath));
      reported.add(/^integration\.request\.path\.(.+)$/.exec(target)?.[1] ?? pathParameter);
      continue;
    }
    const value = src.length >= 2 && src.startsWith("'") && src.endsWith("'")
      ? src.slice(1, -1)
      : src.startsWith('stageVariables.') || src.startsWith('context.')
        ? `\${${src}}`
        : request
          ? `\${request.${request[1]}.${request[2]}}`
          : undefined;
    const pathTarget = /^integration\.request\.path\.(.+)$/.exec(target);
    const headerName = /^integration\.request\.header\.(.+)$/.exec(target)?.[1];
    const queryName = /^integration\.request\.querystring\.(.+)$/.exec(target)?.[1];
    if (pathTarget && request?.[1] === 'path') {
      if (pathTarget[1] !== request[2]) uri = uri.split(`{${pathTarget[1]}}`).join(`{${request[2]}}`);
    } else if (isPassthrough(target, src) && (proxy || queryName !== undefined)) {
      // The client's header (proxy) or query parameter of the same name is forwarded anyway.
    } else if (headerName !== undefined && value !== undefined) {
      requestHeaders[headerName] = value;
    } else if (queryName !== undefined && value !== undefined) {
      requestQuery[queryName] = value;
    } else {
      warn([...where, target], `request parameter mapping ${target} = ${src} is not supported and is ignored`);
    }
  }
  for (const name of undefinedUriParameters(uri, defined)) {
    if (!reported.has(name)) fail([...integration, 'uri'], undefinedParameterMessage('integration uri', `{${name}}`, routePath));
  }
  return { uri, requestHeaders, requestQuery };
}

/** `x-amazon-apigateway-cors` uses the same field names as Turnpike's `cors`; methods may be lowercase there. */
function importCors(src: SourceDoc, issues: ConfigIssue[]): CorsConfig | undefined {
  const raw = (src.data as Obj)['x-amazon-apigateway-cors'];
  if (raw === undefined) return undefined;
  const x = isObj(raw) && Array.isArray(raw.allowMethods) ? { ...raw, allowMethods: raw.allowMethods.map((m) => (typeof m === 'string' ? m.toUpperCase() : m)) } : raw;
  const parsed = Cors.safeParse(x);
  if (parsed.success) return parsed.data;
  issues.push(...zodIssues(src, parsed.error, ['x-amazon-apigateway-cors']));
  return undefined;
}
