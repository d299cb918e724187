import { isObj, type Obj } from '@turnpike/codec/plain';
import type { ConfigIssue } from './errors.js';
import { moveRefs } from './jsonSchema.js';
import { lineOf, type SourceDoc } from './source.js';

/**
 * Swagger 2.0 (what `aws apigateway get-export --export-type swagger` writes, and AWS's own PetStore
 * sample) converted to the OpenAPI 3 shape the importer reads. Only what API Gateway acts on is moved:
 * `securityDefinitions`, `definitions`, `in: body` parameters (as `requestBody`, per `consumes`), the
 * other parameters' types (as `schema`), `basePath` (as `servers`); every `x-amazon-apigateway-*`
 * extension is kept where it was. The converted document keeps a map back to the original's JSON paths,
 * so an error names the Swagger field and its line, not a path that exists only after conversion.
 *
 * Why not swagger2openapi: it converts the whole specification (eleven dependencies, a second YAML
 * parser, network fetching of remote $refs) and returns plain objects, losing every source position.
 */


export function isSwagger(data: unknown): boolean {
  return isObj(data) && 'swagger' in data;
}

/** Where a path of the converted document came from in the Swagger one. */
function swaggerPath(path: readonly PropertyKey[]): PropertyKey[] {
  const [a, b, ...rest] = path;
  if (a === 'openapi') return ['swagger', ...path.slice(1)];
  if (a === 'servers') return ['basePath'];
  if (a === 'components' && b === 'securitySchemes') return ['securityDefinitions', ...rest];
  if (a === 'components' && b === 'schemas') return ['definitions', ...rest];
  if (a === 'paths' && path[3] === 'requestBody') return path.slice(0, 3).concat('parameters');
  return [...path];
}

export function swaggerToOpenApi(src: SourceDoc, issues: ConfigIssue[]): SourceDoc {
  const doc = src.data as Obj;
  if (doc.swagger !== '2.0') {
    issues.push({ file: src.file, path: 'swagger', line: lineOf(src, ['swagger']), message: `Swagger ${JSON.stringify(doc.swagger)} is not supported: Swagger "2.0" and OpenAPI 3.x are` });
  }
  const out: Obj = {};
  for (const [k, v] of Object.entries(doc)) {
    if (['swagger', 'host', 'basePath', 'schemes', 'consumes', 'produces', 'securityDefinitions', 'definitions', 'parameters', 'responses', 'paths'].includes(k)) continue;
    out[k] = renameRefs(v);
  }
  out.openapi = '3.0.1';
  if (typeof doc.basePath === 'string' && doc.basePath !== '/') out.servers = [{ url: doc.basePath }];
  const components: Obj = {};
  if (isObj(doc.securityDefinitions)) components.securitySchemes = renameRefs(doc.securityDefinitions);
  if (isObj(doc.definitions)) components.schemas = renameRefs(doc.definitions);
  if (Object.keys(components).length) out.components = components;

  const consumes = Array.isArray(doc.consumes) ? doc.consumes.map(String) : ['application/json'];
  const sharedParams = isObj(doc.parameters) ? doc.parameters : {};
  const paths: Obj = {};
  for (const [path, item] of Object.entries(isObj(doc.paths) ? doc.paths : {})) {
    if (!isObj(item)) continue;
    const converted: Obj = {};
    const itemParams = Array.isArray(item.parameters) ? item.parameters : [];
    for (const [op, operation] of Object.entries(item)) {
      if (op === 'parameters') continue;
      if (!isObj(operation)) {
        converted[op] = operation;
        continue;
      }
      const { parameters, consumes: opConsumes, produces: _produces, ...rest } = operation;
      const next = renameRefs(rest) as Obj;
      const params: unknown[] = [];
      let body: Obj | undefined;
      for (const raw of [...itemParams, ...(Array.isArray(parameters) ? parameters : [])]) {
        const p = resolveParameter(raw, sharedParams);
        if (!isObj(p)) continue;
        if (p.in === 'body') body = p;
        else if (p.in === 'formData') body ??= { in: 'formData', schema: { type: 'object' } };
        else {
          const { type, format, items, enum: en, default: dflt, ...kept } = p;
          const schema = Object.fromEntries(Object.entries({ type, format, items, enum: en, default: dflt }).filter(([, v]) => v !== undefined));
          params.push({ ...kept, ...(Object.keys(schema).length ? { schema } : {}) });
        }
      }
      if (params.length) next.parameters = params;
      if (body) {
        const types = Array.isArray(opConsumes) ? opConsumes.map(String) : consumes;
        const schema = renameRefs(body.schema ?? {});
        next.requestBody = { ...(body.required === true ? { required: true } : {}), content: Object.fromEntries(types.map((t) => [t, { schema }])) };
      }
      converted[op] = next;
    }
    paths[path] = converted;
  }
  out.paths = paths;
  return { ...src, data: out, locate: swaggerPath, format: 'Swagger 2.0' };
}

function resolveParameter(p: unknown, shared: Obj): unknown {
  if (isObj(p) && typeof p.$ref === 'string' && p.$ref.startsWith('#/parameters/')) return shared[p.$ref.slice('#/parameters/'.length)];
  return p;
}

/** `#/definitions/X` is `#/components/schemas/X` in OpenAPI 3. */
const renameRefs = (v: unknown) => moveRefs(v, '#/definitions/', '#/components/schemas/');
