import { ConfigError, ENV_REFUSED, TurnpikeFile, envReferencePaths, formatPath, isOpenApi, parseConfig, routeKeyProblem, type ApiConfig } from '@turnpike/config';
import { ApiError } from './http.js';

/**
 * An API definition as PUT /v1/apis/{api} takes it: `{ "definition": <one entry of a Turnpike config's
 * apis> }` (what `turnpike apis put` sends after loading a file locally, OpenAPI imports resolved), or
 * `{ "openapi": <an OpenAPI 3 document, AWS export> }`. Checked by the same schema as `turnpike validate`;
 * every problem comes back as `{ path, message }`.
 */
export function definitionFrom(name: string, body: Record<string, unknown>): ApiConfig {
  if (body.openapi !== undefined) return fromOpenApi(name, body.openapi);
  const def = body.definition;
  if (def === null || typeof def !== 'object' || Array.isArray(def)) throw new ApiError(400, 'invalid', 'send { "definition": { ...an API of a Turnpike config } } or { "openapi": { ...an OpenAPI 3 document } }');
  const d = def as Record<string, unknown>;
  if (d.name !== undefined && d.name !== name) throw new ApiError(400, 'invalid', `definition.name "${String(d.name)}" differs from the API name in the path "${name}"`);
  if (d.openapi !== undefined) throw new ApiError(400, 'invalid', 'definition.openapi names a file the control service cannot read: send the imported routes (turnpike apis put does) or { "openapi": document }');
  const parsed = TurnpikeFile.safeParse({ apis: [{ ...d, name }] });
  // Route keys are checked beside the schema, as the config loader does (WebSocket APIs have their own).
  const routes = d.type !== 'websocket' && d.routes !== null && typeof d.routes === 'object' ? Object.keys(d.routes) : [];
  const keyIssues = routes.flatMap((k) => {
    const message = routeKeyProblem(k);
    return message ? [{ path: `definition.routes.${k}`, message }] : [];
  });
  // `${env:...}` would stay literal on the edges: refused, like in an uploaded OpenAPI document.
  keyIssues.push(...envReferencePaths(d, ['definition']).map((path) => ({ path, message: `\${env:...} ${ENV_REFUSED}` })));
  if (!parsed.success || keyIssues.length) {
    const issues = [...keyIssues, ...(parsed.success ? [] : parsed.error.issues.map((i) => ({ path: formatPath(['definition', ...(i.path as PropertyKey[]).slice(2)]), message: i.message })))];
    throw new ApiError(400, 'invalid', `the definition has ${issues.length} problem(s): ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
  return parsed.data.apis[0]!;
}

/**
 * `doc` is the document as an object, or its YAML/JSON text as uploaded (the console sends the file):
 * from text, every issue carries the `line` it is at in that file.
 */
function fromOpenApi(name: string, doc: unknown): ApiConfig {
  const text = typeof doc === 'string';
  if (!text && !isOpenApi(doc)) throw new ApiError(400, 'invalid', '"openapi" must be an OpenAPI 3 document (an object with an `openapi` field, or its YAML/JSON text)');
  try {
    const config = parseConfig(text ? doc : JSON.stringify(doc), `${name}.openapi.${text ? 'yaml' : 'json'}`, { checkStageVariables: false, env: null });
    if (text && (config.apis.length !== 1 || config.apis[0]!.openapi === undefined)) throw new ApiError(400, 'invalid', 'the text is not an OpenAPI 3 document (no `openapi` field at its top)');
    const { openapi: _file, ...api } = config.apis[0]!;
    return { ...api, name };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const issues = err.issues.map((i) => ({ path: `openapi.${i.path}`, message: i.message, ...(text && i.line ? { line: i.line } : {}) }));
    throw new ApiError(400, 'invalid', `the OpenAPI document has ${issues.length} problem(s): ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
}
