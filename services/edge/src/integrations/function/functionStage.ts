import type { FunctionIntegrationConfig } from '@turnpike/config';
import type { RequestContext } from '../../pipeline/context.js';
import { STOP, type Stage, type StageResult } from '../../pipeline/stage.js';
import { RouteBuildError, type CompiledRoute } from '../../router/routeTable.js';
import type { EdgeServices } from '../../pipeline/pipeline.js';
import { BodyTooLargeError } from '../../http/requestBody.js';
import { FunctionInvokeError, type FunctionInvoker } from '../../services/invoker/invoker.js';
import { buildEvent, eventShape, type EventShape } from './proxyEvent.js';
import { mapResponseV1, mapResponseV2 } from './proxyResponse.js';
import { MappedFunctionStage } from '../mapping/functionMapped.js';

/**
 * API Gateway's Lambda proxy integration (`aws_proxy`, `type: function`): the request becomes a proxy
 * event, the function runs on a worker, and its result becomes the response. A function that fails in any
 * way answers 502 and the integration timeout 504, each with API Gateway's message; the cause is logged
 * with the request id and never sent to the client.
 */
export class FunctionStage implements Stage {
  readonly name = 'integration.function';
  readonly kind = 'integration';

  constructor(
    private readonly config: FunctionIntegrationConfig,
    private readonly shape: EventShape,
    private readonly invoker: FunctionInvoker,
  ) {}

  run(ctx: RequestContext): StageResult | Promise<StageResult> {
    const body = ctx.body;
    if (body === null) return this.invoke(ctx, null);
    return body.readAll().then(
      (buf) => this.invoke(ctx, buf),
      (err: unknown) => {
        // A body over the limit has been answered 413 already; any other read error is the client going away.
        if (!(err instanceof BodyTooLargeError) && !ctx.responded) ctx.gatewayError('BAD_REQUEST_BODY', `request body: ${(err as Error).message}`);
        return STOP;
      },
    );
  }

  private invoke(ctx: RequestContext, body: Buffer | null): StageResult {
    const event = buildEvent(this.shape, ctx, body);
    const opts = { requestId: ctx.requestId, timeoutMs: this.config.timeoutMs, traceparent: traceparentOf(ctx) };
    const started = performance.now();
    if (this.isAsync(ctx)) {
      this.invoker.invokeAsync(this.config.function, event, { ...opts, credentials: this.shape.credentials }).then(
        () => {
          ctx.integrationLatency = performance.now() - started;
          ctx.respond(202, null, '');
        },
        (err: unknown) => this.failed(ctx, err),
      );
      return STOP;
    }
    this.invoker.invoke(this.config.function, event, opts).then(
      (result) => {
        ctx.integrationLatency = performance.now() - started;
        const decode = this.shape.decodeBase64(ctx.headers.accept);
        const mapped = this.shape.version === '1.0' ? mapResponseV1(result, decode) : mapResponseV2(result, decode);
        if (typeof mapped === 'string') ctx.fail(new FunctionInvokeError('handler', `malformed Lambda proxy response: ${mapped}`), 'INTEGRATION_FAILURE');
        else ctx.respond(mapped.status, mapped.headers, mapped.body);
      },
      (err: unknown) => this.failed(ctx, err),
    );
    return STOP;
  }

  /**
   * Asynchronous only by the integration's own setting: `invocationType: Event`, or the method request
   * header its `invocationTypeFrom` maps onto X-Amz-Invocation-Type (AWS's `requestParameters`). A
   * client's own X-Amz-Invocation-Type header is never read: it would let any caller turn a route into
   * fire-and-forget and skip its response.
   */
  private isAsync(ctx: RequestContext): boolean {
    const from = this.config.invocationTypeFrom;
    if (from !== undefined) {
      const mapped = ctx.headers[from];
      if (mapped !== undefined) return mapped === 'Event';
    }
    return this.config.invocationType === 'Event';
  }

  /** The API's kind decides the answer: REST 502/504, HTTP API 500/503 (http/gatewayResponses.ts). */
  private failed(ctx: RequestContext, err: unknown): void {
    const kind = err instanceof FunctionInvokeError ? err.kind : null;
    if (kind === 'integration_timeout') ctx.fail(err, 'INTEGRATION_TIMEOUT');
    else if (kind === 'unavailable') ctx.fail(err, 503);
    else ctx.fail(err, 'INTEGRATION_FAILURE');
  }
}

/**
 * The W3C trace context handed to the function, which sees it as the `traceparent` header of its event
 * (docs/functions.md): a traced request continues under the integration span; otherwise the client's
 * header is passed on as is.
 */
function traceparentOf(ctx: RequestContext): string | null {
  if (ctx.trace !== null) return ctx.trace.startChild('integration function', { 'turnpike.integration.type': 'function' }, 'client').traceparent;
  return ctx.headers.traceparent ?? null;
}

export function buildFunctionIntegration(route: CompiledRoute, services: EdgeServices): Stage {
  const integration = route.config.integration;
  if (integration.type !== 'function') throw new RouteBuildError('not a function integration');
  if (integration.mapping) return new MappedFunctionStage(integration, integration.mapping, route, services.config.gateway.accountId, services.invoker, services.logger);
  return new FunctionStage(integration, eventShape(route, integration.payloadFormatVersion, services.config.gateway.accountId), services.invoker);
}
