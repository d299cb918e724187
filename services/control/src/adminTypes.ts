// Shapes of admin API answers that its clients read: the CLI (through the package's entry) and the
// browser console (which imports this file itself). It imports nothing, so the console's browser-only
// type check and bundle take it as it is.

/** A WebSocket connection as GET /v1/connections lists it. */
export interface ListedConnection {
  connectionId: string;
  /** The edge node holding it. */
  node: string;
  api: string;
  stage: string;
  /** ms since the epoch. */
  connectedAt: number;
  sourceIp: string;
}

/** GET /v1/connections; `truncated` when the registry holds more connections than are listed. */
export interface ConnectionList {
  connections: ListedConnection[];
  truncated: boolean;
}
