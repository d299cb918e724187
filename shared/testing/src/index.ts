export * from './redis.js';
export * from './net.js';
export * from './process.js';
export * from './upstream.js';
export * from './redisTopology.js';
export * from './idealBucket.js';
