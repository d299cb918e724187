export * from './errors.js';
export * from './schema.js';
export { loadConfig, parseConfig, isOpenApi, type TurnpikeConfig } from './load.js';
export { readSource, parseSource, lineOf, zodIssues, type SourceDoc } from './source.js';
export { importOpenApi, type ImportedApi } from './openapi.js';
export { parseRedisUrl, redactUrl, type RedisUrl, type RedisMode, type RedisHostPort } from './redisUrl.js';
