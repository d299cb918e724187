import type { FunctionIntegrationConfig, MappingConfig } from '@turnpike/config';
import type { Logger } from 'pino';
import type { RequestContext } from '../../pipeline/context.js';
import { STOP, type Stage, type StageResult } from '../../pipeline/stage.js';
import type { CompiledRoute } from '../../router/routeTable.js';
import { FunctionInvokeError, type FunctionInvoker } from '../../services/invoker/invoker.js';
import { CompiledMapping } from './mapping.js';

const JSON_TYPE: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json' });

/**
 * API Gateway's non-proxy Lambda integration (`type: aws` with a `lambda:path/.../invocations` URI) on
 * Turnpike's functions: the event is the request template's output (JSON), the handler's result is the
 * integration response payload. A handler error is selected by its message (`selectionPattern`) and its
 * payload is Lambda's `{"errorMessage", "errorType"}`; an error no pattern matches takes the default
 * response, as on AWS. Timeouts and an unavailable worker fleet are the gateway's 504 and 503.
 */
export class MappedFunctionStage implements Stage {
  readonly name = 'integration.function';
  readonly kind = 'integration';
  private readonly mapping: CompiledMapping;

  constructor(
    private readonly config: FunctionIntegrationConfig,
    mapping: MappingConfig,
    route: CompiledRoute,
    accountId: string,
    private readonly invoker: FunctionInvoker,
    logger: Logger,
  ) {
    this.mapping = new CompiledMapping(mapping, route, accountId, logger);
  }

  run(ctx: RequestContext): StageResult | Promise<StageResult> {
    if (ctx.body === null) return this.invoke(ctx, null);
    return ctx.body.readAll().then((b) => this.invoke(ctx, b));
  }

  private invoke(ctx: RequestContext, body: Buffer | null): StageResult {
    const mapped = this.mapping.mapRequest(ctx, body);
    if (mapped === null) return STOP;
    let event: unknown;
    const text = mapped.body.toString();
    try {
      event = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      // Lambda takes JSON only; API Gateway fails such a request before invoking.
      ctx.fail(new Error(`the integration request is not JSON: ${text.slice(0, 200)}`), 'API_CONFIGURATION_ERROR');
      return STOP;
    }
    const started = performance.now();
    this.invoker.invoke(this.config.function, event, { requestId: ctx.requestId, timeoutMs: this.config.timeoutMs }).then(
      (result) => {
        ctx.integrationLatency = performance.now() - started;
        this.mapping.respond(ctx, null, JSON.stringify(result) ?? 'null', JSON_TYPE, mapped.context);
      },
      (err: unknown) => {
        ctx.integrationLatency = performance.now() - started;
        if (err instanceof FunctionInvokeError && (err.kind === 'handler' || err.kind === 'function_timeout' || err.kind === 'crash')) {
          const payload = JSON.stringify({ errorMessage: err.message, errorType: err.errorType ?? 'Error' });
          this.mapping.respond(ctx, err.message, payload, JSON_TYPE, mapped.context);
        } else if (err instanceof FunctionInvokeError && err.kind === 'integration_timeout') ctx.fail(err, 'INTEGRATION_TIMEOUT');
        else if (err instanceof FunctionInvokeError && err.kind === 'unavailable') ctx.fail(err, 503);
        else ctx.fail(err, 'INTEGRATION_FAILURE');
      },
    );
    return STOP;
  }
}
