export * from './store.js';
export * from './secret.js';
export * from './quotaPeriod.js';
