/** Messages between a worker and one of its function host processes (Node IPC, `json` serialization). */

/** Parent → host: run one invocation. A host runs one invocation at a time, as a Lambda environment does. */
export interface InvokeMessage {
  readonly t: 'invoke';
  /** The event as JSON text: the edge serialized it once, and only the host, which needs the object, parses it. */
  readonly event: string;
  /** The caller's W3C trace context, set as the event's `traceparent` header. */
  readonly traceparent: string | null;
  readonly requestId: string;
  /** Epoch ms when the function's own timeout expires (`getRemainingTimeInMillis`). */
  readonly deadline: number;
}

/** Host → parent: the module loaded (or did not: then the host exits after saying why). */
export type InitMessage = { readonly t: 'ready' } | { readonly t: 'init_error'; readonly errorType: string; readonly message: string };

/**
 * Host → parent: the invocation's outcome. `json` is the result as Lambda's runtime serializes it
 * (JSON.stringify; `null` for undefined). `fatal` says the host is about to exit (an uncaught exception or
 * unhandled rejection leaves the process in an unknown state, so Lambda's runtime restarts it too).
 */
export type DoneMessage =
  | { readonly t: 'done'; readonly ok: true; readonly json: string }
  | { readonly t: 'done'; readonly ok: false; readonly errorType: string; readonly message: string; readonly fatal: boolean };

export type HostMessage = InitMessage | DoneMessage;
