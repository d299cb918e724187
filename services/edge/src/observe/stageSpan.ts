import type { RequestTrace } from '@turnpike/telemetry';
import type { RequestContext } from '../pipeline/context.js';
import { CONTINUE, type Stage, type StageResult } from '../pipeline/stage.js';

/**
 * Runs one stage of a traced request inside a child span named after it (`apiKey`, `throttle`,
 * `authorize`, ...), which covers the stage's own work, its Redis round trips and authorizer calls
 * included, and records whether it let the request through. Integrations open their own CLIENT span
 * (they answer after `run` returns), so they run as is. Only called when the request is traced.
 */
export function runStageTraced(stage: Stage, ctx: RequestContext, trace: RequestTrace): StageResult | Promise<StageResult> {
  if (stage.kind === 'integration') return stage.run(ctx);
  const span = trace.startChild(stage.name);
  let result: StageResult | Promise<StageResult>;
  try {
    result = stage.run(ctx);
  } catch (err) {
    span.end(err instanceof Error ? err.message : String(err));
    throw err;
  }
  if (typeof result === 'number') {
    endStageSpan(ctx, span, result);
    return result;
  }
  return result.then(
    (r) => {
      endStageSpan(ctx, span, r);
      return r;
    },
    (err: unknown) => {
      span.end(err instanceof Error ? err.message : String(err));
      throw err;
    },
  );
}

function endStageSpan(ctx: RequestContext, span: ReturnType<RequestTrace['startChild']>, result: StageResult): void {
  span.setAttribute('turnpike.stage.result', result === CONTINUE ? 'continue' : 'stop');
  // A stage that stopped the request answered it (401, 403, 429...) or is streaming the answer.
  if (result !== CONTINUE && ctx.status !== 0) span.setAttribute('http.response.status_code', ctx.status);
  span.end();
}
