import type { MockIntegrationConfig } from '@turnpike/config';
import type { RequestContext } from '../../pipeline/context.js';
import { STOP, type Stage, type StageResult } from '../../pipeline/stage.js';
import { EMPTY_OK, type WsIntegration, type WsResult } from '../webSocket.js';

/** A fixed response (health checks, stubs, tests): built once, sent as is. */
export class MockStage implements Stage {
  readonly name = 'integration.mock';
  readonly kind = 'integration';
  private readonly headers: readonly string[];
  private readonly body: Buffer;

  constructor(private readonly config: MockIntegrationConfig) {
    const h: string[] = [];
    for (const [k, v] of Object.entries(config.headers)) h.push(k.toLowerCase(), v);
    if (!('content-type' in lower(config.headers)) && config.body) h.push('content-type', 'application/json');
    this.headers = h;
    this.body = Buffer.from(config.body);
  }

  run(ctx: RequestContext): StageResult {
    ctx.integrationLatency = 0;
    ctx.respond(this.config.statusCode, this.headers, this.body);
    return STOP;
  }
}

function lower(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

/** A WebSocket route's mock: the configured status and body, built once. */
export class MockWsIntegration implements WsIntegration {
  private readonly result: Promise<WsResult>;
  constructor(config: MockIntegrationConfig) {
    this.result = Promise.resolve({ ...EMPTY_OK, statusCode: config.statusCode, body: config.body || null });
  }
  invoke(): Promise<WsResult> {
    return this.result;
  }
}
