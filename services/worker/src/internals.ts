/**
 * `@turnpike/worker/internals`: the function host pool, for the benchmarks that measure it and the tests that hold it to its contract on its own.
 * Not the worker's API: what is here may change with the code it comes from.
 */
export { HostPool } from './sandbox/hostPool.js';
export { hostLauncher } from './sandbox/hostLauncher.js';
export type { Outcome } from './sandbox/hostPool.js';
