import { createRequire } from 'node:module';
import type AjvDraft4 from 'ajv-draft-04';
import type { ValidateFunction } from 'ajv-draft-04';
import { isObj, type Obj } from '@turnpike/codec/plain';

/**
 * JSON Schema draft 4, the dialect of API Gateway's models, on ajv. The config loader compiles every
 * model once to refuse a bad one (so `validate` and the edge agree); the edge compiles its own copy once
 * per route. `strict: false` because models carry keywords ajv's strict mode rejects (`example`, `title`...).
 */
export function compileModel(schema: object): ValidateFunction {
  // Loaded with the first model: configs without models (most) do not pay for ajv at start.
  Ajv ??= (createRequire(import.meta.url)('ajv-draft-04') as { default: typeof AjvDraft4 }).default;
  return new Ajv({ strict: false, allErrors: false, validateFormats: false }).compile(schema);
}

let Ajv: typeof AjvDraft4 | null = null;

/** A copy of `v` whose `$ref`s under `from` point under `to`: schemas moved between Swagger 2 and OpenAPI 3 places. */
export function moveRefs(v: unknown, from: string, to: string): unknown {
  if (Array.isArray(v)) return v.map((x) => moveRefs(x, from, to));
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) out[k] = k === '$ref' && typeof x === 'string' && x.startsWith(from) ? to + x.slice(from.length) : moveRefs(x, from, to);
  return out;
}
