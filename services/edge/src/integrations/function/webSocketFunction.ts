import type { FunctionIntegrationConfig } from '@turnpike/config';
import type { FunctionInvoker } from '../../services/invoker/invoker.js';
import { EMPTY_OK, type WsCall, type WsIntegration, type WsResult } from '../webSocket.js';

/** A WebSocket route's function: the event goes to the worker fleet as the REST proxy event does. */
export class FunctionWsIntegration implements WsIntegration {
  constructor(
    private readonly config: FunctionIntegrationConfig,
    private readonly invoker: FunctionInvoker,
  ) {}

  async invoke(call: WsCall): Promise<WsResult> {
    const result = await this.invoker.invoke(this.config.function, call.event, { requestId: call.requestId, timeoutMs: this.config.timeoutMs });
    return readFunctionResult(result);
  }
}

/**
 * Lambda's WebSocket result: `{statusCode, body, headers}` or nothing (accepted, no response). A plain
 * string or other value is the route response itself. `subscribe` / `unsubscribe` (topic names) are
 * Turnpike's addition.
 */
export function readFunctionResult(r: unknown): WsResult {
  if (r === undefined || r === null) return EMPTY_OK;
  if (typeof r === 'string') return { ...EMPTY_OK, body: r };
  if (typeof r !== 'object' || Array.isArray(r)) return { ...EMPTY_OK, body: JSON.stringify(r) };
  const o = r as Record<string, unknown>;
  const status = typeof o.statusCode === 'string' ? Number(o.statusCode) : o.statusCode;
  const statusCode = typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599 ? status : 200;
  let body: string | Buffer | null = null;
  if (typeof o.body === 'string') body = o.isBase64Encoded === true ? Buffer.from(o.body, 'base64') : o.body;
  else if (o.body !== undefined && o.body !== null) body = JSON.stringify(o.body);
  else if (!('statusCode' in o) && !('subscribe' in o) && !('unsubscribe' in o)) body = JSON.stringify(o);
  let protocol: string | null = null;
  if (typeof o.headers === 'object' && o.headers !== null) {
    for (const [k, v] of Object.entries(o.headers as Record<string, unknown>)) if (k.toLowerCase() === 'sec-websocket-protocol' && typeof v === 'string') protocol = v;
  }
  return { statusCode, body, protocol, subscribe: strings(o.subscribe), unsubscribe: strings(o.unsubscribe) };
}

function strings(v: unknown): string[] | null {
  if (!Array.isArray(v)) return null;
  return v.filter((x): x is string => typeof x === 'string');
}
