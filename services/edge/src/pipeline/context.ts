import type { RequestTrace } from '@turnpike/telemetry';
import type { ClientResponse, ResponseOwner } from '../http/clientResponse.js';
import { RequestBody, type BodyLimits, type BodyOwner, type BodyTimeoutError, type BodyTooLargeError } from '../http/requestBody.js';
import type { GatewayAnswer, GatewayResponseType } from '../http/gatewayResponses.js';
import { statusLine } from '../http/statusLine.js';
import { extendedRequestId } from '../http/requestIds.js';
import type { ApiStage, CompiledApi, CompiledRoute } from '../router/routeTable.js';
import type { PlanBinding } from '../services/traffic/apiKeyCache.js';

/** Told when the client goes away before the response is done (an object rather than a callback: no closure per request). */
export interface AbortListener {
  clientAborted(): void;
}

/** Called once per request when its response is finished or the client went away (logs, metrics). */
export type RequestObserver = (ctx: RequestContext) => void;

export interface ContextServices {
  readonly observer: RequestObserver | null;
  readonly logError: (ctx: RequestContext, message: string, cause: unknown) => void;
  readonly requestDone: () => void;
  /** Set while the node drains for shutdown: every response then closes its connection. */
  draining: boolean;
  /** The port the edge listens on (`X-Forwarded-Port`); set once listening. */
  port: number;
  /** Proxies in front of the edge whose X-Forwarded-For entries are believed (`gateway.trustedProxyHops`; http/forwarded.ts). */
  readonly trustedProxyHops: number;
}

/** What the edge knows of a request when its head has been read: everything a RequestContext is built from. */
export type RequestContextInit = Pick<RequestContext, 'res' | 'services' | 'requestId' | 'method' | 'path' | 'segments' | 'query' | 'headers' | 'rawHeaders' | 'host' | 'sourceIp' | 'api' | 'stage' | 'routeOffset'>;

/**
 * Per-request state, and the only way stages answer a client. Everything here belongs to this one request;
 * anything shared lives in the compiled route table.
 */
export class RequestContext implements ResponseOwner, BodyOwner {
  readonly startTime = Date.now();
  readonly startHr = performance.now();

  // --- the request, copied out of uWS's stack-allocated HttpRequest ---
  route: CompiledRoute | null = null;
  params: Record<string, string> | null = null;
  /** Segment index (into `segments`) where the greedy path parameter starts, or -1. */
  greedyStart = -1;
  body: RequestBody | null = null;

  // --- the response ---
  /** Close the connection after this response (malformed or oversize input, framing the edge cannot trust). */
  closeConnection = false;
  status = 0;
  responseBytes = 0;
  /** True once a status line went out (a complete response, or the head of a streamed one). */
  responded = false;
  aborted = false;
  /** Flat name/value pairs added to every response, gateway errors included (CORS, RateLimit-*). */
  extraHeaders: string[] | null = null;
  /** Time spent waiting for the integration, in ms, for logs and metrics. */
  integrationLatency = -1;
  /** Time from the request arriving to its response finishing, in ms; set by `finish` for the observer (-1 before). */
  latencyMs = -1;
  /** Why the gateway answered with an error, for the access log (`$context.error.message`). */
  errorMessage: string | null = null;
  /** Values an authorizer put in its context; carried to integrations. */
  authorizer: Record<string, unknown> | null = null;
  principalId: string | null = null;
  /** The id (never the value) of the API key the request was admitted with (`$context.identity.apiKeyId`). */
  apiKeyId: string | null = null;
  /** The Lambda authorizer's `usageIdentifierKey`: the API key value with `apiKeySource: AUTHORIZER`. */
  usageIdentifierKey: string | null = null;
  /** The usage plan binding the API key stage admitted the request under; the throttle stage applies it. */
  usagePlan: PlanBinding | null = null;
  /**
   * The request's span when this request is traced, else null: stages add child spans with
   * `ctx.trace?.startChild('throttle')` and pay nothing when it is null.
   */
  trace: RequestTrace | null = null;

  /** The address of the socket's peer (a load balancer when one is in front); `sourceIp` is the client's. */
  peerIp = '';
  /** How long the route's Lambda authorizer took, in ms (`requestContext.authorizer.integrationLatency`); -1 when none ran. */
  authorizerLatency = -1;

  private abortListener: AbortListener | null = null;
  private finished = false;
  private extendedId: string | null = null;

  /** The client's response; every write goes through it and is a no-op once the response is finished. */
  readonly res: ClientResponse;
  readonly services: ContextServices;
  readonly requestId: string;
  readonly method: string;
  /** Normalized path (percent-encoded canonically), and its decoded segments. */
  readonly path: string;
  readonly segments: readonly string[];
  readonly query: string;
  /** Lowercased names; repeated headers joined with `, ` (cookies with `; `). */
  readonly headers: Record<string, string>;
  /** The headers as received: lowercased name, value, name, value... */
  readonly rawHeaders: string[];
  readonly host: string;
  readonly sourceIp: string;
  readonly api: CompiledApi;
  readonly stage: ApiStage;
  /** Index into `segments` where the route's own path begins (after base path and stage). */
  readonly routeOffset: number;

  constructor(init: RequestContextInit) {
    // One store a field rather than Object.assign: on the request path, ~200 ns less a request.
    this.res = init.res;
    this.services = init.services;
    this.requestId = init.requestId;
    this.method = init.method;
    this.path = init.path;
    this.segments = init.segments;
    this.query = init.query;
    this.headers = init.headers;
    this.rawHeaders = init.rawHeaders;
    this.host = init.host;
    this.sourceIp = init.sourceIp;
    this.api = init.api;
    this.stage = init.stage;
    this.routeOffset = init.routeOffset;
    init.res.owner = this;
  }

  /** Starts reading the request body (call in the synchronous part of the handler). */
  attachBody(limits: BodyLimits): void {
    this.body = new RequestBody(this.res, limits, this);
  }

  /** Registers the one party to tell if the client goes away before the response is done. */
  onAbort(listener: AbortListener | null): void {
    this.abortListener = listener;
  }

  /** The client disconnected (or the edge cut the connection); the response can no longer be written. */
  responseAborted(): void {
    try {
      this.handleAbort();
    } catch (err) {
      this.services.logError(this, 'request failed while aborting', err);
    }
  }

  private handleAbort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const l = this.abortListener;
    this.abortListener = null;
    this.body?.discard();
    if (l) l.clientAborted();
    if (!this.responded) this.errorMessage ??= 'client disconnected';
    this.finish();
  }

  /** Sends a complete response. `headers` is a flat name/value list. */
  respond(status: number, headers: readonly string[] | null, body: string | Uint8Array): void {
    if (this.responded || this.aborted) return;
    this.responded = true;
    this.status = status;
    const res = this.res;
    const close = this.closeConnection || this.services.draining || this.dropBody();
    res.cork(() => {
      res.writeStatus(statusLine(status));
      this.writeCommonHeaders();
      if (headers) writeHeaderList(res, headers);
      if (this.method === 'HEAD' || status === 204 || status === 304) {
        res.endWithoutBody(status !== 204 && status !== 304 ? byteLength(body) : undefined, close);
      } else {
        this.responseBytes = byteLength(body);
        res.end(body, close);
      }
    });
    this.finish();
  }

  /**
   * Answering before the request body is in: the rest is discarded. A body of declared length is still
   * consumed by uWS's framing, so the connection stays usable; a chunked one could go on without bound,
   * so the connection is closed after the answer. Returns whether to close.
   */
  private dropBody(): boolean {
    const body = this.body;
    if (body === null || body.complete) return false;
    body.discard();
    return this.headers['content-length'] === undefined;
  }

  bodyTooLarge(err: BodyTooLargeError): void {
    this.closeConnection = true;
    this.errorMessage ??= err.message;
    if (this.responded) this.res.close();
    else this.gatewayError('REQUEST_TOO_LARGE');
  }

  bodyTimedOut(err: BodyTimeoutError): void {
    this.closeConnection = true;
    this.errorMessage ??= err.message;
    if (this.responded) this.res.close();
    else this.gatewayErrorStatus(408, 'Request Timeout');
  }

  bodyFailed(err: unknown): void {
    this.contain(err);
  }

  /**
   * An exception escaped request code (a uWS, undici or timer callback): it ends this request, never the
   * process. Answered 500 if nothing was sent yet, else the connection is cut; logged with the request id.
   */
  contain(err: unknown): void {
    try {
      if (!this.responded) {
        this.closeConnection = true;
        this.fail(err);
      } else {
        this.errorMessage ??= `internal error after the response started: ${err instanceof Error ? err.message : String(err)}`;
        this.services.logError(this, 'request failed after its response started', err);
        this.res.close();
      }
    } catch (inner) {
      this.services.logError(this, 'request failed while containing an error', inner);
    }
  }

  /**
   * A gateway-generated error: the API's answer for `type` (its kind's default from
   * http/gatewayResponses.ts, or the API's customised gateway response). `logMessage` is what the access
   * log's `$context.error.message` says; `headers` are added (Retry-After); `message` replaces the
   * type's default message (BAD_REQUEST_PARAMETERS names the missing parameters).
   */
  gatewayError(type: GatewayResponseType, logMessage?: string, headers: readonly string[] | null = null, message?: string): void {
    const answer = this.api.responses.answer(type);
    this.sendAnswer(message === undefined ? answer : withMessage(answer, message), logMessage ?? message, headers);
  }

  /** A gateway error with a status no response type names (400, 408, 431, 503): DEFAULT_4XX/5XX's shape. */
  gatewayErrorStatus(status: number, message: string, logMessage?: string): void {
    this.sendAnswer(this.api.responses.byStatus(status, message), logMessage ?? message, null);
  }

  /** Writes a gateway answer, through the API's `x-amazon-apigateway-gateway-responses` when it customises its type. */
  sendAnswer(answer: GatewayAnswer, logMessage: string | undefined, headers: readonly string[] | null): void {
    this.errorMessage ??= logMessage ?? answer.type;
    const custom = this.api.gatewayResponses?.render(this, answer) ?? null;
    if (custom !== null) answer = custom;
    this.respond(answer.status, headers ? [...answer.headers, ...headers] : answer.headers, answer.body);
  }

  /**
   * A gateway fault: the client gets the API's answer for `type` (a generic 500 unless told otherwise,
   * or a bare status such as 503), the log gets the cause against the request id.
   */
  fail(cause: unknown, type: GatewayResponseType | 503 = 'DEFAULT_5XX'): void {
    this.services.logError(this, typeof type === 'number' ? 'Service Unavailable' : type, cause);
    this.errorMessage ??= cause instanceof Error ? cause.message : String(cause);
    if (this.responded) return;
    if (type === 503) this.gatewayErrorStatus(503, 'Service Unavailable');
    else this.gatewayError(type);
  }

  /** AWS's `extendedRequestId` (`x-amz-apigw-id`): 11 bytes of the request id in base64, `Mzx1SGq8IAMF5Ag=`. */
  get extendedRequestId(): string {
    return (this.extendedId ??= extendedRequestId(this.requestId));
  }

  /** Writes the status line and the headers every response carries; used by streaming writers too. */
  writeHead(status: number): void {
    // From here on an error can no longer be answered with a status of its own, only by cutting the connection.
    this.responded = true;
    this.status = status;
    this.res.writeStatus(statusLine(status));
    this.writeCommonHeaders();
    // A streamed response cannot ask uWS to close after its last byte; the header tells the client to.
    if (this.services.draining) this.res.writeHeader('connection', 'close');
  }

  private writeCommonHeaders(): void {
    const res = this.res;
    res.writeHeader('x-amzn-RequestId', this.requestId);
    // REST APIs name the extended request id x-amz-apigw-id; HTTP APIs send it as apigw-requestid.
    res.writeHeader(this.api.responses.kind === 'http' ? 'apigw-requestid' : 'x-amz-apigw-id', this.extendedRequestId);
    const extra = this.extraHeaders;
    if (extra) writeHeaderList(res, extra);
  }

  /** Marks the response done (streaming writers call this once the last byte is handed to uWS). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.responded = true;
    this.body?.discard();
    const observer = this.services.observer;
    try {
      if (observer !== null) {
        // One clock read for the metrics and the access log both.
        this.latencyMs = performance.now() - this.startHr;
        observer(this);
      }
    } catch (err) {
      this.services.logError(this, 'request observer failed', err);
    }
    this.services.requestDone();
  }

  /** The route key for logs (`GET /pets/{id}`), or `-` before routing. */
  get routeKey(): string {
    return this.route ? this.route.routeKey : '-';
  }
}

function withMessage(answer: GatewayAnswer, message: string): GatewayAnswer {
  return { ...answer, message, body: `{"message":${JSON.stringify(message)}}` };
}

function byteLength(body: string | Uint8Array): number {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}

/** Writes a flat name/value list; a trailing name without a value ends it. */
function writeHeaderList(res: ClientResponse, list: readonly string[]): void {
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i];
    const value = list[i + 1];
    if (name === undefined || value === undefined) return;
    res.writeHeader(name, value);
  }
}
