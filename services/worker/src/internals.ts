/**
 * `@turnpike/worker/internals`: the function host pool, for the benchmarks that measure it on its own.
 * Not the worker's API: what is here may change with the code it comes from.
 */
export { HostPool } from './sandbox/hostPool.js';
export { hostLauncher } from './sandbox/hostLauncher.js';
