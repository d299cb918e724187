import { dirname, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from './errors.js';
import { substituteEnv } from './env.js';
import { lineOf, parseSource, readSource, zodIssues, type SourceDoc } from './source.js';
import { TurnpikeFile, Api, Gateway, routeKeyProblem, type ApiConfig, type GatewayConfig, type RouteConfig, type FunctionDefinitionConfig, type DomainsConfig } from './schema.js';
import { importOpenApi } from './openapi.js';

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
  return typeof data === 'object' && data !== null && 'openapi' in data;
}

/**
 * Loads a Turnpike config or an OpenAPI document (served as one REST API at the root, stage `$default`).
 * Throws ConfigError listing every problem, each naming the file, the field path and the line.
 */
export function loadConfig(file: string): TurnpikeConfig {
  return configFromSource(readSource(resolve(file)));
}

/** The same as loadConfig for text in memory (tests, generated configs); `file` names it in errors. */
export function parseConfig(text: string, file = 'inline.yaml'): TurnpikeConfig {
  return configFromSource(parseSource(resolve(file), text));
}

function configFromSource(raw: SourceDoc): TurnpikeConfig {
  const envIssues: ConfigIssue[] = [];
  const src = { ...raw, data: substituteEnv(raw, process.env, envIssues) };
  if (envIssues.length) throw new ConfigError(envIssues);
  const abs = src.file;
  if (isOpenApi(src.data)) return fromOpenApiFile(src);

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
    } satisfies ApiConfig;
  });
  checkUnique(src, apis, issues);
  if (issues.length) throw new ConfigError(issues);
  return freeze({ file: abs, gateway: parsed.data.gateway, apis, functions: parsed.data.functions, domains: parsed.data.domains, warnings });
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

function fromOpenApiFile(src: SourceDoc): TurnpikeConfig {
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const imported = importOpenApi(src, issues, warnings);
  if (issues.length) throw new ConfigError(issues);
  const api = Api.parse({ name: imported.name, stages: { $default: {} }, openapi: src.file });
  return freeze({
    file: src.file,
    gateway: Gateway.parse({}),
    functions: {},
    apis: [{ ...api, routes: imported.routes, binaryMediaTypes: imported.binaryMediaTypes, authorizers: imported.authorizers, cors: imported.cors, apiKeySource: imported.apiKeySource, type: imported.kind }],
    warnings,
  });
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
    issues.push({ file, path: 'openapi', line: 1, message: 'not an OpenAPI 3 document (no `openapi:` field)' });
    return undefined;
  }
  return importOpenApi(src, issues, warnings);
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
