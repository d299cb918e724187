// The codec's pure helpers, without the msgpack encoder: what the config package needs. Its own entry
// (`@turnpike/codec/plain`) so that loading a config (`turnpike validate`) does not load msgpackr and its
// native addon probe (~30 ms CPU of the command's start).
export { isObj, type Obj } from './plainObject.js';
export { functionNameOf, qualifiedFunctionName } from './functionRef.js';
