import type { WebSocket } from 'uWebSockets.js';
import type { ApiStage } from '../router/routeTable.js';
import type { CompiledWebSocketApi } from './compiledApi.js';

/**
 * One client connection. Only what the connection needs after the handshake is kept (no headers, nothing
 * only the handshake uses), because a node holds tens of thousands of these: about 400 bytes of JS heap
 * per idle connection with its uWS object and strings (loadtests/README.md).
 */
export class Connection {
  ws: WebSocket<UserData> | null = null;
  lastActiveAt: number;
  closed = false;
  /** Subscribed, registered and counted (after uWS's upgrade returned). */
  accepted = false;
  /** lastActiveAt changed since the registry last saw it. */
  dirty = false;
  /** What the `$connect` authorizer returned (principalId + context), carried into every event. */
  authorizer: Record<string, unknown> | null = null;
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
    /** Interned (Handshakes): most clients send one of a few user agents. */
    readonly userAgent: string,
    /** The Host header the client connected with, lower-cased and interned: `requestContext.domainName`. */
    readonly domainName: string,
  ) {
    this.lastActiveAt = connectedAt;
  }
}

/**
 * uWS's user data for a socket: the Connection behind one property. uWS copies every own property of
 * the object given to `res.upgrade` onto its WebSocket object one keyed store at a time, and V8 turns an
 * object that gains more than a dozen properties that way into a dictionary: a Connection given directly
 * cost ~830 bytes of property dictionary per socket (heap snapshot, loadtests/README.md). One property
 * keeps the WebSocket object small and the Connection a class instance with in-object fields.
 */
export interface UserData {
  readonly conn: Connection;
}

export const userDataOf = (conn: Connection): UserData => ({ conn });
