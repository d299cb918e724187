export * from './errors.js';
export * from './schema.js';
export { loadConfig, parseConfig, isOpenApi, type LoadOptions, type TurnpikeConfig } from './load.js';
export { readSource, parseSource, lineOf, zodIssues, type SourceDoc } from './source.js';
export { importOpenApi, type ImportedApi } from './openapi.js';
export { parseRedisUrl, redactUrl, type RedisUrl, type RedisMode, type RedisHostPort } from './redisUrl.js';
export { substituteStageVariables, undefinedStageVariables, type StageVariableSubstitution } from './stageVariables.js';
export { compileModel } from './jsonSchema.js';
export { exportApi } from './export.js';
