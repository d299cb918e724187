import type { ConfigIssue } from './errors.js';
import { formatPath } from './errors.js';
import { lineOf, zodIssues, type SourceDoc } from './source.js';
import { Cors, HTTP_METHODS, ROUTE_KEY, Route, type CorsConfig, type RouteConfig } from './schema.js';
import type { AuthorizerConfig } from './schema.js';
import { importAuthorizer, routeAuthorization } from './openapiAuthorizers.js';
import { functionNameOf, isObj, type Obj } from '@turnpike/codec';

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
}


/** Extensions this importer understands, by where they may appear. */
const DOCUMENT_EXTENSIONS = new Set(['x-amazon-apigateway-binary-media-types', 'x-amazon-apigateway-api-key-source', 'x-amazon-apigateway-importexport-version', 'x-amazon-apigateway-cors']);
const OPERATION_EXTENSIONS = new Set(['x-amazon-apigateway-integration']);
const PATH_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'x-amazon-apigateway-any-method']);

export function importOpenApi(src: SourceDoc, issues: ConfigIssue[], warnings: ConfigIssue[]): ImportedApi {
  const doc = src.data as Obj;
  const at = (path: PropertyKey[]) => ({ file: src.file, path: formatPath(path), line: lineOf(src, path) });
  const warn = (path: PropertyKey[], message: string) => warnings.push({ ...at(path), message });
  const fail = (path: PropertyKey[], message: string) => issues.push({ ...at(path), message });

  if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.')) fail(['openapi'], `only OpenAPI 3.x is supported (found ${JSON.stringify(doc.openapi)})`);
  const info = isObj(doc.info) ? doc.info : {};
  const name = String(info.title ?? 'api').replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 128) || 'api';

  for (const key of Object.keys(doc)) {
    if (key.startsWith('x-amazon-apigateway-') && !DOCUMENT_EXTENSIONS.has(key)) warn([key], `extension ${key} is not supported yet and is ignored`);
  }
  const binaryMediaTypes = Array.isArray(doc['x-amazon-apigateway-binary-media-types'])
    ? (doc['x-amazon-apigateway-binary-media-types'] as unknown[]).map(String)
    : [];

  const apiKeySchemes = new Set<string>();
  const authorizers: Record<string, AuthorizerConfig> = {};
  const schemes = isObj(doc.components) && isObj(doc.components.securitySchemes) ? doc.components.securitySchemes : {};
  for (const [schemeName, scheme] of Object.entries(schemes)) {
    if (!isObj(scheme)) continue;
    if (scheme.type === 'apiKey' && scheme.in === 'header' && String(scheme.name).toLowerCase() === 'x-api-key') {
      apiKeySchemes.add(schemeName);
    }
    const authorizer = importAuthorizer(src, scheme, ['components', 'securitySchemes', schemeName], warn, issues);
    if (authorizer) authorizers[schemeName] = authorizer;
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
        if (key.startsWith('x-amazon-apigateway-') && !OPERATION_EXTENSIONS.has(key)) warn([...where, key], `extension ${key} is not supported yet and is ignored`);
      }
      const method = op === 'x-amazon-apigateway-any-method' ? 'ANY' : op.toUpperCase();
      const routeKey = `${method} ${path}`;
      if (!ROUTE_KEY.test(routeKey)) {
        fail(['paths', path], `path "${path}" is not a valid route path (literal segments, {param}, and a final {name+})`);
        continue;
      }
      const integration = operation['x-amazon-apigateway-integration'];
      if (!isObj(integration)) {
        fail([...where], 'operation has no x-amazon-apigateway-integration');
        continue;
      }
      const mapped = mapIntegration(integration, [...where, 'x-amazon-apigateway-integration'], warn, fail);
      if (!mapped) continue;
      const security = Array.isArray(operation.security) ? operation.security : globalSecurity;
      const apiKeyRequired = security.some((req) => isObj(req) && Object.keys(req).some((s) => apiKeySchemes.has(s)));
      const parsed = Route.safeParse({ integration: mapped, apiKeyRequired, ...routeAuthorization(security, authorizers, where, warn) });
      if (!parsed.success) {
        issues.push(...zodIssues(src, parsed.error, [...where, 'x-amazon-apigateway-integration']).map((i) => ({ ...i, path: i.path.replace(/\.integration(?=\.|$)/, '') })));
        continue;
      }
      routes[routeKey] = parsed.data;
    }
  }
  const keySource = doc['x-amazon-apigateway-api-key-source'];
  const apiKeySource = keySource === 'HEADER' || keySource === 'AUTHORIZER' ? keySource : undefined;
  if (keySource !== undefined && !apiKeySource) fail(['x-amazon-apigateway-api-key-source'], `must be HEADER or AUTHORIZER (found ${JSON.stringify(keySource)})`);
  return { name, routes, binaryMediaTypes, authorizers, cors: importCors(src, issues), apiKeySource };
}

function isPassthrough(target: string, src: string): boolean {
  const t = /^integration\.request\.(header|querystring)\.(.+)$/.exec(target);
  const s = /^method\.request\.(header|querystring)\.(.+)$/.exec(src);
  return !!t && !!s && t[1] === s[1] && t[2]!.toLowerCase() === s[2]!.toLowerCase();
}

type Report = (path: PropertyKey[], message: string) => void;

function mapIntegration(x: Obj, where: PropertyKey[], warn: Report, fail: Report): unknown {
  const type = String(x.type ?? '').toLowerCase();
  const ignored = (keys: string[]) => {
    for (const k of keys) if (k in x) warn([...where, k], `integration field ${k} is not supported for type ${type} and is ignored`);
  };
  switch (type) {
    case 'http_proxy':
    case 'http': {
      if (type === 'http') warn([...where, 'type'], 'non-proxy http integrations are served as http_proxy: mapping templates are ignored');
      // AWS itself ignores `responses`, `passthroughBehavior` and `requestTemplates` on proxy integrations
      // (exports carry them anyway), so they load without a warning; the rest change behaviour we lack.
      ignored(['contentHandling', 'connectionType', 'connectionId', 'tlsConfig', 'cacheKeyParameters', 'cacheNamespace', 'integrationSubtype']);
      const { uri, requestHeaders } = mapRequestParameters(String(x.uri ?? ''), x.requestParameters, [...where, 'requestParameters'], warn);
      const httpMethod = String(x.httpMethod ?? 'ANY').toUpperCase();
      return {
        type: 'http_proxy',
        uri,
        ...(httpMethod !== 'ANY' && (HTTP_METHODS as readonly string[]).includes(httpMethod) ? { method: httpMethod } : {}),
        ...(x.timeoutInMillis !== undefined ? { timeoutMs: Number(x.timeoutInMillis) } : {}),
        requestHeaders,
      };
    }
    case 'mock': {
      // AWS picks a mock's status with the request template `{"statusCode": N}` and the matching
      // integration response; the static forms of both map onto a fixed response.
      const responses = isObj(x.responses) ? x.responses : {};
      const dflt = isObj(responses.default) ? responses.default : {};
      const templates = isObj(dflt.responseTemplates) ? dflt.responseTemplates : {};
      const body = templates['application/json'];
      const requestTemplate = isObj(x.requestTemplates) ? x.requestTemplates['application/json'] : undefined;
      const selected = typeof requestTemplate === 'string' ? /"statusCode"\s*:\s*(\d{3})/.exec(requestTemplate)?.[1] : undefined;
      if (requestTemplate !== undefined && !selected) warn([...where, 'requestTemplates'], 'only the static mock request template {"statusCode": N} is supported; the template is ignored');
      const headers: Record<string, string> = {};
      const params = isObj(dflt.responseParameters) ? dflt.responseParameters : {};
      for (const [k, v] of Object.entries(params)) {
        const h = /^method\.response\.header\.(.+)$/.exec(k);
        const value = String(v);
        if (h && value.startsWith("'") && value.endsWith("'")) headers[h[1]!] = value.slice(1, -1);
        else warn([...where, 'responses', 'default', 'responseParameters', k], `response parameter ${k} = ${value} is not supported and is ignored`);
      }
      return { type: 'mock', statusCode: Number(dflt.statusCode ?? selected ?? 200), headers, body: typeof body === 'string' ? body : '' };
    }
    case 'aws_proxy':
      return mapFunctionIntegration(x, where, warn, fail);
    default:
      fail([...where, 'type'], `integration type "${String(x.type)}" is not supported (supported: http_proxy, http, mock, aws_proxy)`);
      return undefined;
  }
}

/**
 * The Lambda proxy integration: `uri` is API Gateway's invocation URI of a Lambda function
 * (`arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCT:function:NAME/invocations`),
 * served by the Turnpike function NAME. `X-Amz-Invocation-Type: 'Event'` in requestParameters makes it asynchronous.
 */
function mapFunctionIntegration(x: Obj, where: PropertyKey[], warn: Report, fail: Report): unknown {
  const uri = String(x.uri ?? '');
  const fn = functionNameOf(uri);
  if (fn === null || !uri.includes(':function:')) {
    fail([...where, 'uri'], `"${uri}" is not a Lambda function invocation URI (arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME/invocations)`);
    return undefined;
  }
  for (const k of ['contentHandling', 'credentials', 'cacheKeyParameters', 'cacheNamespace', 'connectionType', 'tlsConfig']) {
    if (k in x) warn([...where, k], `integration field ${k} is not supported for type aws_proxy and is ignored`);
  }
  let invocationType: 'Event' | undefined;
  if (isObj(x.requestParameters)) {
    for (const [target, source] of Object.entries(x.requestParameters)) {
      if (target.toLowerCase() === 'integration.request.header.x-amz-invocation-type' && String(source) === "'Event'") invocationType = 'Event';
      else warn([...where, 'requestParameters', target], `request parameter ${target} is not supported for aws_proxy integrations and is ignored`);
    }
  }
  return {
    type: 'function',
    function: fn,
    ...(x.payloadFormatVersion !== undefined ? { payloadFormatVersion: String(x.payloadFormatVersion) } : {}),
    ...(invocationType ? { invocationType } : {}),
    ...(x.timeoutInMillis !== undefined ? { timeoutMs: Number(x.timeoutInMillis) } : {}),
  };
}

/**
 * `requestParameters` maps method request values onto the integration request. Path mappings rename
 * `{name}` in the URI; header mappings become request headers. Values from other sources are named in a warning.
 */
function mapRequestParameters(uri: string, params: unknown, where: PropertyKey[], warn: Report) {
  const requestHeaders: Record<string, string> = {};
  if (!isObj(params)) return { uri, requestHeaders };
  for (const [target, source] of Object.entries(params)) {
    const src = String(source);
    const value = src.startsWith("'") && src.endsWith("'")
      ? src.slice(1, -1)
      : src.startsWith('stageVariables.') || src.startsWith('context.')
        ? `\${${src}}`
        : undefined;
    const pathSrc = /^method\.request\.path\.(.+)$/.exec(src);
    const pathTarget = /^integration\.request\.path\.(.+)$/.exec(target);
    const headerTarget = /^integration\.request\.header\.(.+)$/.exec(target);
    if (pathTarget && pathSrc) {
      if (pathTarget[1] !== pathSrc[1]) uri = uri.split(`{${pathTarget[1]}}`).join(`{${pathSrc[1]}}`);
    } else if (headerTarget && value !== undefined) {
      requestHeaders[headerTarget[1]!] = value;
    } else if (isPassthrough(target, src)) {
      // The client's header or query parameter of the same name is forwarded anyway by a proxy integration.
    } else {
      warn([...where, target], `request parameter mapping ${target} = ${src} is not supported and is ignored`);
    }
  }
  return { uri, requestHeaders };
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
