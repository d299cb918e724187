/**
 * `@turnpike/edge/internals`: pieces of the edge that benchmarks (loadtests) and the security tests
 * exercise on their own. Not the edge's API: what is here may change with the code it comes from.
 */
export { normalizePath } from './http/normalizePath.js';
export { RouteTrie } from './router/routeTrie.js';
export { ResponseParser } from './integrations/httpProxy/http1/responseParser.js';
export { extendedRequestId, newRequestId, traceIdDigits } from './http/requestIds.js';
export { addressText } from './http/peerAddress.js';
export { compilePolicy, isAllowed, reducePolicy } from './services/authorization/policy/policy.js';
export { WildcardPattern } from './services/authorization/policy/wildcard.js';
export { PolicyCache } from './services/authorization/cache/policyCache.js';
export { QueueFunctionInvoker } from './services/invoker/queueInvoker.js';
export { startManagement, type ManagementServer } from './management/server.js';
