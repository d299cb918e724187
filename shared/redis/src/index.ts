export { connectRedis, type RedisConnectOptions } from './connection.js';
export { RedisKeys } from './keys.js';
export * from './apiKeys/index.js';
export * from './control/index.js';
export * from './nodes/heartbeats.js';
