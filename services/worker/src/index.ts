export { FunctionWorker, type FunctionWorkerOptions } from './worker.js';
export { loadFunctions, FunctionRegistryError, type FunctionSpec } from './registry.js';
export { listDeadLetters, replayDeadLetters, type DeadLetter } from './dlq.js';
