import type { CredentialNames } from '@turnpike/codec';

/**
 * How an edge node runs a function (Lambda-style handler) on the worker fleet. The function
 * integration, Lambda authorizers and WebSocket routes all go through this one interface.
 */

export interface InvokeOptions {
  /** The gateway request id; becomes the function's `awsRequestId` and ties logs together. */
  readonly requestId: string;
  /** How long the caller waits (the integration timeout); the function's own timeout is its config's. */
  readonly timeoutMs: number;
  /** W3C trace context to carry into the worker, when tracing. */
  readonly traceparent?: string | null;
  /**
   * Async only: where this route's requests carry credentials beyond the common places (its authorizer's
   * identity sources), so that a dead letter can be stripped of them (@turnpike/codec redact.ts).
   */
  readonly credentials?: CredentialNames | null;
}

/**
 * Why an invocation produced no result. `handler`: the function threw or returned a malformed value;
 * `function_timeout`: the function ran past its own timeout; `crash`: its process died (exit, OOM,
 * signal); `integration_timeout`: the caller stopped waiting; `unavailable`: it could not be queued
 * (Redis down, unknown function).
 */
export type InvokeFailure = 'handler' | 'function_timeout' | 'crash' | 'integration_timeout' | 'unavailable';

export class FunctionInvokeError extends Error {
  readonly code = 'TP_FUNCTION_INVOKE';
  constructor(
    readonly kind: InvokeFailure,
    message: string,
    /** The error type the handler threw (`Unauthorized` for authorizers), when there was one. */
    readonly errorType?: string,
  ) {
    super(message);
    this.name = 'FunctionInvokeError';
  }
}

export interface FunctionInvoker {
  /** Runs the function and resolves with what the handler returned (or passed to its callback). */
  invoke(functionName: string, event: unknown, opts: InvokeOptions): Promise<unknown>;
  /** Queues an asynchronous invocation (`X-Amz-Invocation-Type: Event`); resolves once it is durably queued. */
  invokeAsync(functionName: string, event: unknown, opts: InvokeOptions): Promise<void>;
  close(): Promise<void>;
}
