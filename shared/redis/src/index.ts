export { connectRedis, duplicateRedis, isCluster, whenConnected, scanKeys, describeRedis, requestTimeoutOf, type RedisClient, type RedisEndpoint, type RedisConnectOptions, type DuplicateOptions } from './connection.js';
export { RedisKeys } from './keys.js';
export * from './apiKeys/index.js';
export * from './control/index.js';
export { BillingStore, type BillingAccount, type SpendCap, type StoredPriceVersion } from './billing/billingStore.js';
export * from './nodes/heartbeats.js';
