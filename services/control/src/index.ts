export { ControlServer, type ControlServerOptions } from './server.js';
export { ControlClient, ControlCallError, seg } from './client.js';
export type { ConnectionList, ListedConnection } from './adminTypes.js';
