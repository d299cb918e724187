import type { AccessLog } from '../observe/edgeTelemetry.js';
import type { Connection } from './connection.js';

export type WsEventType = 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

/** One access-log line per connect, message and disconnect, when the access log is on. */
export class WsEventLog {
  constructor(private readonly accessLog: AccessLog | null) {}

  line(conn: Connection, eventType: WsEventType, routeKey: string, requestId: string, start: number, status: number, messageId: string | null, errorMessage: string | null): void {
    const log = this.accessLog;
    if (log === null) return;
    log.webSocket({
      requestId,
      connectionId: conn.id,
      eventType,
      apiId: conn.api.id,
      stage: conn.stage.name,
      routeKey,
      status,
      sourceIp: conn.sourceIp,
      userAgent: conn.userAgent,
      requestTimeEpoch: start,
      responseLatency: Date.now() - start,
      messageId,
      principalId: typeof conn.authorizer?.principalId === 'string' ? conn.authorizer.principalId : null,
      authorizer: conn.authorizer,
      errorMessage,
    });
  }
}
