import type { MappingConfig } from '@turnpike/config';
import type { Logger } from 'pino';
import type { RequestContext } from '../../pipeline/context.js';
import { STOP, type Stage, type StageResult } from '../../pipeline/stage.js';
import type { CompiledRoute } from '../../router/routeTable.js';
import { CompiledMapping } from './mapping.js';

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * API Gateway's mock integration: the request template's output is JSON whose `statusCode` selects the
 * integration response (`{"statusCode": 404}` answers with the response whose selectionPattern matches 404);
 * the response template renders the body. Without a numeric statusCode API Gateway answers 500.
 */
export class MappedMockStage implements Stage {
  readonly name = 'integration.mock';
  readonly kind = 'integration';
  private readonly mapping: CompiledMapping;

  constructor(config: MappingConfig, route: CompiledRoute, accountId: string, logger: Logger) {
    this.mapping = new CompiledMapping(config, route, accountId, logger);
  }

  run(ctx: RequestContext): StageResult | Promise<StageResult> {
    if (ctx.body === null) return this.mock(ctx, null);
    return ctx.body.readAll().then((b) => this.mock(ctx, b));
  }

  private mock(ctx: RequestContext, body: Buffer | null): StageResult {
    ctx.integrationLatency = 0;
    const mapped = this.mapping.mapRequest(ctx, body);
    if (mapped === null) return STOP;
    let status: unknown;
    try {
      status = (JSON.parse(mapped.body.toString()) as { statusCode?: unknown }).statusCode;
    } catch {
      status = undefined;
    }
    if (typeof status !== 'number' && !(typeof status === 'string' && /^\d{3}$/.test(status))) {
      ctx.fail(new Error(`mock request template must give {"statusCode": N}; it gave ${mapped.body.toString().slice(0, 200)}`), 'API_CONFIGURATION_ERROR');
      return STOP;
    }
    this.mapping.respond(ctx, String(status), '', NO_HEADERS, mapped.context);
    return STOP;
  }
}
