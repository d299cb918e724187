import type { RequestContext } from './context.js';

/**
 * The one contract every pipeline stage implements (CORS, API key, throttle, authorize, integrate).
 *
 * A stage's configuration is parsed once, when the route table is compiled, into an immutable object
 * shared by every request; the per-request state lives only on the RequestContext it is handed.
 *
 * `run` returns one of a closed set of results:
 * - `CONTINUE`: the request goes on to the next stage;
 * - `STOP`: this stage has answered the request, or has taken over answering it (an integration
 *   streaming a response, an error response); no later stage runs.
 *
 * A stage that can decide synchronously returns the result itself, so the pipeline pays no `await`;
 * only a stage that must wait (Redis, a function) returns a Promise of the result. A stage must not
 * throw for a request's own fault: it answers with a clear error and returns STOP. A rejected promise
 * or a thrown error is a gateway fault: the pipeline answers 500 and logs the cause against the
 * request id.
 *
 * A stage that has nothing to do for a route is not built at all: its factory returns `null` and the
 * route's stage list simply does not contain it, so an unused capability costs nothing.
 */
export const CONTINUE = 0;
export const STOP = 1;
export type StageResult = typeof CONTINUE | typeof STOP;

/**
 * `check`: a stage that decides whether the request goes on (CORS, API key, throttle, authorize,
 * validate); traced as a span of its own. `integration`: the stage that answers, which opens its own
 * CLIENT span because it answers after `run` returns.
 */
export type StageKind = 'check' | 'integration';

export interface Stage {
  readonly name: string;
  readonly kind: StageKind;
  run(ctx: RequestContext): StageResult | Promise<StageResult>;
}
