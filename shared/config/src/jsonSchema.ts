import Ajv, { type ValidateFunction } from 'ajv-draft-04';

/**
 * JSON Schema draft 4, the dialect of API Gateway's models, on ajv. The config loader compiles every
 * model once to refuse a bad one (so `validate` and the edge agree); the edge compiles its own copy once
 * per route. `strict: false` because models carry keywords ajv's strict mode rejects (`example`, `title`...).
 */
export function compileModel(schema: object): ValidateFunction {
  return new Ajv({ strict: false, allErrors: false, validateFormats: false }).compile(schema);
}
