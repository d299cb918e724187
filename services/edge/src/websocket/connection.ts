import type { WebSocket } from 'uWebSockets.js';
import type { ApiStage } from '../router/routeTable.js';
import type { CompiledWebSocketApi } from './compiledApi.js';

/**
 * One client connection: uWS's user data for its socket. Only what the connection needs after the
 * handshake is kept (no headers), because a node holds 100,000 of these.
 */
export class Connection {
  ws: WebSocket<Connection> | null = null;
  lastActiveAt: number;
  closed = false;
  /** Subscribed, registered and counted (after uWS's upgrade returned). */
  accepted = false;
  /** lastActiveAt changed since the registry last saw it. */
  dirty = false;
  /** What the `$connect` authorizer returned (principalId + context), carried into every event. */
  authorizer: Record<string, unknown> | null = null;
  /** Topics from `$connect` (config and integration), subscribed right after the upgrade (gateway.opened). */
  initialTopics: readonly string[] | null = null;
  /** The subprotocol a `$connect` integration selected (Sec-WebSocket-Protocol). */
  protocol: string | null = null;
  /** Message-rate bucket (messageLimits.ts): tokens left at `tokensAt`. */
  tokens = 0;
  tokensAt = 0;
  /** Bytes of this connection's messages whose route integration has not answered yet. */
  pendingBytes = 0;
  /** Closed by the edge for passing a limit: messages uWS still hands over are ignored. */
  limited = false;

  constructor(
    readonly id: string,
    readonly api: CompiledWebSocketApi,
    readonly stage: ApiStage,
    readonly connectedAt: number,
    readonly sourceIp: string,
    readonly userAgent: string,
    /** The Host header the client connected with: `requestContext.domainName`. */
    readonly domainName: string,
  ) {
    this.lastActiveAt = connectedAt;
  }
}
