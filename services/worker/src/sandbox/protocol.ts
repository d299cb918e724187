/**
 * Messages between a worker and one of its function host processes (Node IPC, `json` serialization).
 *
 * A host runs one invocation at a time, as a Lambda environment does, but the worker may hand it several
 * at once when every host is busy, and the host answers the ones it finished in one message: one pipe
 * write each way per batch instead of per invocation, the worker's largest cost when it was per
 * invocation (docs/functions.md, "Isolation: host processes"). Invocations a host was handed but has not started
 * are still the worker's: it takes them back (`release`) when the one running is slow, and runs them
 * elsewhere when the host dies.
 */

/** One invocation. `id` is the worker's, unique per host pool. */
export interface Invocation {
  readonly id: number;
  /** The event as JSON text: the edge serialized it once, and only the host, which needs the object, parses it. */
  readonly event: string;
  /** The caller's W3C trace context, set as the event's `traceparent` header. */
  readonly traceparent: string | null;
  readonly requestId: string;
  /** The function's timeout: `getRemainingTimeInMillis` counts down from it once the host starts the invocation. */
  readonly timeoutMs: number;
}

/** Parent → host: run these, in order, after the ones handed over before. */
export interface InvokeMessage {
  readonly t: 'invoke';
  readonly invocations: readonly Invocation[];
}

/** Parent → host: give back every invocation not started yet (answered with `released`). */
export interface ReleaseMessage {
  readonly t: 'release';
}

export type ParentMessage = InvokeMessage | ReleaseMessage;

/** Host → parent: the module loaded (or did not: then the host exits after saying why). */
export type InitMessage = { readonly t: 'ready' } | { readonly t: 'init_error'; readonly errorType: string; readonly message: string };

/**
 * One invocation's outcome. `json` is the result as Lambda's runtime serializes it (JSON.stringify; `null`
 * for undefined). `fatal` says the host is about to exit (an uncaught exception or unhandled rejection
 * leaves the process in an unknown state, so Lambda's runtime restarts it too).
 */
export type Result =
  | { readonly id: number; readonly ok: true; readonly json: string }
  | { readonly id: number; readonly ok: false; readonly errorType: string; readonly message: string; readonly fatal: boolean };

/** Host → parent: outcomes, in the order the invocations were handed over. */
export interface DoneMessage {
  readonly t: 'done';
  readonly results: readonly Result[];
}

/** Host → parent: the invocations it had not started, which it will not run (after every `done` before it). */
export interface ReleasedMessage {
  readonly t: 'released';
  readonly ids: readonly number[];
}

export type HostMessage = InitMessage | DoneMessage | ReleasedMessage;
