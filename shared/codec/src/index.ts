export { encode, decode } from './msgpack.js';
export * from './invocation.js';
export * from './redact.js';
export { isObj, type Obj } from './plainObject.js';
export { functionNameOf } from './functionRef.js';
