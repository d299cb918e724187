export * from './records.js';
export * from './store.js';
export * from './diff.js';
export * from './adminTokens.js';
export * from './follower.js';
