export * from './errors.js';
export * from './schema.js';
export { loadConfig, parseConfig, isOpenApi, type LoadOptions, type TurnpikeConfig } from './load.js';
export { readSource, parseSource, lineOf, zodIssues, type SourceDoc } from './source.js';
export { importOpenApi, type ImportedApi } from './openapi.js';
export { STAGE_VARIABLE_REF, undefinedStageVariables } from './stageVariables.js';
export { compileModel } from './jsonSchema.js';
export { exportApi } from './export.js';
