import { accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import { substituteEnv } from './env.js';
import { lineOf, parseSource, readSource, zodIssues, type SourceDoc } from './source.js';
import { TurnpikeFile, Api, Gateway, routeKeyProblem, type ApiConfig, type GatewayConfig, type RouteConfig, type FunctionDefinitionConfig, type DomainsConfig, type RedisSettingsConfig } from './schema.js';
import { importOpenApi } from './openapi.js';
import { undefinedStageVariables } from './stageVariables.js';
import { routeKeyPath, routePathParameters, undefinedParameterMessage, undefinedPathReferences, undefinedUriParameters } from './pathParameters.js';
import { isSwagger, swaggerToOpenApi } from './swagger.js';

/** A loaded, validated configuration: what services are built from. Immutable by convention. */
export interface TurnpikeConfig {
  readonly file: string;
  readonly gateway: GatewayConfig;
  readonly apis: readonly ApiConfig[];
  /** Functions declared in the file (workers may register more from a directory). */
  readonly functions: Readonly<Record<string, FunctionDefinitionConfig>>;
  /** Custom domains and their base path mappings; absent is none. */
  readonly domains?: Readonly<DomainsConfig>;
  /** Things that load but that the user should know about (unsupported OpenAPI extensions, ...). */
  readonly warnings: readonly ConfigIssue[];
}

/** True when a parsed document is an OpenAPI document rather than a Turnpike config. */
export function isOpenApi(data: unknown): boolean {
  return typeof data === 'object' && data !== null && ('openapi' in data || isSwagger(data));
}

/** The document in the OpenAPI 3 shape the importer reads: Swagger 2.0 is converted first. */
function importDocument(src: SourceDoc, issues: ConfigIssue[], warnings: ConfigIssue[]) {
  return importOpenApi(isSwagger(src.data) ? swaggerToOpenApi(src, issues) : src, issues, warnings);
}

/**
 * Loads a Turnpike config, or an OpenAPI 3 / Swagger 2.0 document served as one REST API: its stage is the
 * one-segment path of its first server URL (Swagger: `basePath`), else `$default` at the root.
 * Throws ConfigError listing every problem, each naming the file, the field path and the line.
 */
export function loadConfig(file: string, options: LoadOptions = {}): TurnpikeConfig {
  return configFromSource(readSource(resolve(file)), options);
}

/** The same as loadConfig for text in memory (tests, generated configs); `file` names it in errors. */
export function parseConfig(text: string, file = 'inline.yaml', options: LoadOptions = {}): TurnpikeConfig {
  return configFromSource(parseSource(resolve(file), text), options);
}

export interface LoadOptions {
  /** Stage variables of the stage of a document given directly (`--stage-variable k=v`). */
  stageVariables?: Readonly<Record<string, string>>;
  /**
   * false for an API definition of the control plane: its stages (and their variables) live in the
   * control plane, not in the document, and are checked when a deployment is compiled.
   */
  checkStageVariables?: boolean;
  /**
   * Where `${env:NAME}` comes from (default process.env); null refuses every reference, for a document
   * uploaded to the control service (docs/versions.md: its environment is not the document's).
   */
  env?: NodeJS.ProcessEnv | null;
}

function configFromSource(raw: SourceDoc, options: LoadOptions): TurnpikeConfig {
  const envIssues: ConfigIssue[] = [];
  const src = { ...raw, data: substituteEnv(raw, options.env === undefined ? process.env : options.env, envIssues) };
  if (envIssues.length) throw new ConfigError(envIssues);
  const abs = src.file;
  if (isOpenApi(src.data)) return fromOpenApiFile(src, options);

  const keyIssues = routeKeyIssues(src);
  const parsed = TurnpikeFile.safeParse(src.data ?? {});
  if (!parsed.success || keyIssues.length) throw new ConfigError([...keyIssues, ...(parsed.success ? [] : zodIssues(src, parsed.error, [], TurnpikeFile))]);

  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const apis = parsed.data.apis.map((written) => {
    // The file's top-level authorizers serve every API; an API's own of the same name wins.
    const api = { ...written, authorizers: { ...parsed.data.authorizers, ...written.authorizers } };
    if (!api.openapi) return api;
    const imported = importOpenApiFile(resolve(dirname(abs), api.openapi), issues, warnings);
    if (!imported) return api;
    // Routes written in the Turnpike file win over the imported ones with the same key.
    return {
      ...api,
      routes: { ...imported.routes, ...api.routes },
      binaryMediaTypes: [...new Set([...imported.binaryMediaTypes, ...api.binaryMediaTypes])],
      authorizers: { ...parsed.data.authorizers, ...imported.authorizers, ...written.authorizers },
      cors: api.cors ?? imported.cors,
      apiKeySource: api.apiKeySource ?? imported.apiKeySource,
      type: api.type ?? imported.kind,
      gatewayResponses: { ...imported.gatewayResponses, ...api.gatewayResponses },
    } satisfies ApiConfig;
  });
  // Routes imported from an OpenAPI document were checked by the importer, at their place in that document.
  parsed.data.apis.forEach((written, i) => checkPathParameters(src, written.routes, ['apis', i, 'routes'], issues));
  checkUnique(src, apis, issues);
  // Code inside an API is the control plane's (docs/functions.md); a file's workers read the functions: block.
  parsed.data.apis.forEach((api, i) => {
    if (api.functions !== undefined) issues.push({ file: src.file, path: `apis[${i}].functions`, line: lineOf(src, ['apis', i, 'functions']), message: 'functions with their code are part of control-plane definitions (turnpike apis put --functions builds them from the top-level functions: block); declare functions at the top level of a config file' });
  });
  if (options.checkStageVariables !== false) apis.forEach((api, i) => checkStageVariables(src.file, api, `apis[${i}]`, issues));
  const gateway = { ...parsed.data.gateway, redis: redisWithTlsFiles(src, parsed.data.gateway.redis, issues) };
  if (issues.length) throw new ConfigError(issues);
  return freeze({ file: abs, gateway, apis, functions: parsed.data.functions, domains: parsed.data.domains, warnings });
}

function routeKeyIssues(src: SourceDoc): ConfigIssue[] {
  const apis = (src.data as { apis?: unknown } | null)?.apis;
  if (!Array.isArray(apis)) return [];
  const out: ConfigIssue[] = [];
  apis.forEach((api: unknown, i) => {
    const { routes, type } = (api ?? {}) as { routes?: unknown; type?: unknown };
    // WebSocket APIs have route keys of their own ($connect, actions), checked by their schema.
    if (!routes || typeof routes !== 'object' || type === 'websocket') return;
    for (const key of Object.keys(routes)) {
      const problem = routeKeyProblem(key);
      if (problem) out.push({ file: src.file, path: `apis[${i}].routes.${key}`, line: lineOf(src, ['apis', i, 'routes', key]), message: problem });
    }
  });
  return out;
}

function fromOpenApiFile(src: SourceDoc, options: LoadOptions): TurnpikeConfig {
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const imported = importDocument(src, issues, warnings);
  if (issues.length) throw new ConfigError(issues);
  // Served as on AWS: a one-segment server path is the stage (`/prod/pets`), a longer one a base path.
  const segments = (imported.serverPath ?? '').split('/').filter(Boolean);
  const [only, ...more] = segments;
  const stage = only !== undefined && more.length === 0 && /^[A-Za-z0-9_-]{1,128}$/.test(only) ? only : '$default';
  const basePath = segments.length > 1 ? `/${segments.join('/')}` : '/';
  const api = Api.parse({ name: imported.name, basePath, stages: { [stage]: { variables: { ...options.stageVariables } } }, openapi: src.file });
  const full: ApiConfig = { ...api, routes: imported.routes, binaryMediaTypes: imported.binaryMediaTypes, authorizers: imported.authorizers, cors: imported.cors, apiKeySource: imported.apiKeySource, gatewayResponses: imported.gatewayResponses, type: imported.kind };
  if (options.checkStageVariables !== false) checkStageVariables(src.file, full, '', issues, ' (give it with --stage-variable NAME=VALUE)');
  if (issues.length) throw new ConfigError(issues);
  return freeze({ file: src.file, gateway: Gateway.parse({}), functions: {}, apis: [full], warnings });
}

/**
 * Every `${stageVariables.X}` an integration uses must be defined by every stage of its API: the edge
 * resolves them once per stage when it compiles routes and refuses a config that leaves one undefined.
 */
function checkStageVariables(file: string, api: ApiConfig, at: string, issues: ConfigIssue[], hint = ''): void {
  for (const [key, route] of Object.entries(api.routes)) {
    const uses = integrationTexts(route);
    for (const [stageName, stage] of Object.entries(api.stages)) {
      for (const [field, text] of uses) {
        for (const name of undefinedStageVariables(text, stage.variables)) {
          issues.push({ file, path: `${at ? `${at}.` : ''}routes.${key}.integration.${field}`, message: `uses \${stageVariables.${name}}, which stage "${stageName}" does not define${hint}` });
        }
      }
    }
  }
}

/** Every path parameter an http or http_proxy integration uses is one its route path defines. */
function checkPathParameters(src: SourceDoc, routes: Readonly<Record<string, RouteConfig>>, at: PropertyKey[], issues: ConfigIssue[]): void {
  for (const [key, route] of Object.entries(routes)) {
    const routePath = routeKeyPath(key);
    const defined = routePathParameters(routePath);
    for (const [field, text] of integrationTexts(route)) {
      const names = field === 'uri' ? undefinedUriParameters(text, defined).map((n) => `{${n}}`) : undefinedPathReferences(text, defined).map((n) => `\${request.path.${n}}`);
      for (const name of names) {
        const path = [...at, key, 'integration', ...field.split(/\.(.*)/s).filter(Boolean)];
        issues.push({ file: src.file, path: formatPath(path), line: lineOf(src, path), message: undefinedParameterMessage(`integration ${field}`, name, routePath) });
      }
    }
  }
}

/** The integration fields that may reference stage variables, by field path. */
function integrationTexts(route: RouteConfig): [string, string][] {
  const i = route.integration;
  if (i.type !== 'http_proxy' && i.type !== 'http') return [];
  return [
    ['uri', i.uri],
    ...Object.entries(i.requestHeaders).map(([h, v]): [string, string] => [`requestHeaders.${h}`, v]),
    ...Object.entries(i.requestQuery).map(([q, v]): [string, string] => [`requestQuery.${q}`, v]),
  ];
}

function importOpenApiFile(file: string, issues: ConfigIssue[], warnings: ConfigIssue[]) {
  let src: SourceDoc;
  try {
    const raw = readSource(file);
    src = { ...raw, data: substituteEnv(raw, process.env, issues) };
  } catch (err) {
    if (err instanceof ConfigError) {
      issues.push(...err.issues);
      return undefined;
    }
    throw err;
  }
  if (!isOpenApi(src.data)) {
    issues.push({ file, path: 'openapi', line: 1, message: 'neither an OpenAPI 3 document (`openapi: 3.x`) nor a Swagger 2.0 one (`swagger: "2.0"`)' });
    return undefined;
  }
  return importDocument(src, issues, warnings);
}

function checkUnique(src: SourceDoc, apis: ApiConfig[], issues: ConfigIssue[]): void {
  const seen = new Map<string, number>();
  apis.forEach((api, i) => {
    const id = api.id ?? api.name;
    const prev = seen.get(id);
    if (prev !== undefined) {
      issues.push({ file: src.file, path: `apis[${i}].name`, line: lineOf(src, ['apis', i, 'name']), message: `duplicate API id "${id}" (also apis[${prev}])` });
    }
    seen.set(id, i);
    const hostsKey = (h: string) => `${h} ${api.basePath}`;
    for (const h of api.hosts.length ? api.hosts : ['*']) {
      const key = `mount:${hostsKey(h)}`;
      const p = seen.get(key);
      if (p !== undefined) {
        issues.push({ file: src.file, path: `apis[${i}].basePath`, line: lineOf(src, ['apis', i, 'basePath']), message: `apis[${p}] is already mounted at host ${h} and base path ${api.basePath}` });
      }
      seen.set(key, i);
    }
  });
}

function freeze<T>(o: T): T {
  return deepFreeze(o);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

export type { RouteConfig };

/** TLS files are named relative to the config file; each must be readable when the config is loaded. */
function redisWithTlsFiles(src: SourceDoc, redis: RedisSettingsConfig, issues: ConfigIssue[]): RedisSettingsConfig {
  if (!redis.tls) return redis;
  const tls = { ...redis.tls };
  for (const field of ['caFile', 'certFile', 'keyFile'] as const) {
    const name = tls[field];
    if (name === undefined) continue;
    const path = resolve(dirname(src.file), name);
    try {
      accessSync(path, constants.R_OK);
    } catch {
      issues.push({ file: src.file, path: `gateway.redis.tls.${field}`, line: lineOf(src, ['gateway', 'redis', 'tls', field]), message: `cannot read ${path}` });
    }
    tls[field] = path;
  }
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    issues.push({ file: src.file, path: 'gateway.redis.tls', line: lineOf(src, ['gateway', 'redis', 'tls']), message: 'a client certificate needs both certFile and keyFile' });
  }
  return { ...redis, tls };
}
