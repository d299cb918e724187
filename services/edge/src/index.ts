export { Edge, type EdgeOptions } from './edge.js';
export type { RequestContext, RequestObserver } from './pipeline/context.js';
export { CONTINUE, STOP, type Stage, type StageResult } from './pipeline/stage.js';
export { normalizePath } from './http/normalizePath.js';
export { CredentialStore, type Credential } from './websocket/credentials.js';
export { signSigV4 } from './websocket/sigv4.js';
export { lookupConnection, type RegisteredConnection } from './websocket/registry.js';
export { PortInUseError } from './listen/portClaim.js';
export { RemoteWebSocket } from './websocket/remote.js';
