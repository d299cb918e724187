import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type AttributeValue, type Context, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { parseTraceParent, TraceState } from '@opentelemetry/core';

/**
 * Request tracing with W3C trace context. The sampling decision (parent-based, then a ratio for requests
 * without a parent) is taken before any OpenTelemetry object exists, so an unsampled request costs one
 * header lookup and one random number: no span, no context, no propagation. A sampled request gets a
 * SERVER span; stages hang child spans off it with `startChild` (throttle, authorizer, integration,
 * Redis calls), and `traceparent` carries the trace on to upstreams and function workers.
 *
 * Spans are parented explicitly rather than through an async context manager: the pipeline hands the
 * RequestTrace to every stage on the RequestContext, which is cheaper than AsyncLocalStorage and cannot
 * leak a context into an unrelated request. The tracer provider is the one the service was given
 * (providers.ts); its owner exports and flushes the spans.
 */

/** One span a stage started; ending it twice is harmless. */
export interface TraceSpan {
  /** `traceparent` naming this span as the parent of the next hop. */
  readonly traceparent: string;
  setAttribute(key: string, value: AttributeValue): void;
  /** Ends the span; an error message marks it failed. */
  end(error?: string | null): void;
}

/** The span of one request, and the factory of its children. */
export interface RequestTrace extends TraceSpan {
  readonly traceId: string;
  startChild(name: string, attributes?: Attributes, kind?: 'client' | 'internal'): TraceSpan;
  /** The name is known better at the end (`GET /pets/{id}` once routed). */
  rename(name: string): void;
}

export interface RequestTracerOptions {
  /** Share of requests without a sampled parent that are traced (0..1). */
  sampleRatio: number;
  tracerProvider: TracerProvider;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$/;

export class RequestTracer {
  private readonly tracer: Tracer;

  /** A tracer, or null when tracing is disabled or spans would go nowhere (no tracer provider). */
  static create(opts: { enabled: boolean; sampleRatio: number; tracerProvider: TracerProvider | null }): RequestTracer | null {
    if (!opts.enabled || opts.tracerProvider === null) return null;
    return new RequestTracer({ sampleRatio: opts.sampleRatio, tracerProvider: opts.tracerProvider });
  }

  constructor(private readonly opts: RequestTracerOptions) {
    this.tracer = opts.tracerProvider.getTracer('turnpike');
  }

  /**
   * Whether a request is traced, and under which parent: always when the client's `traceparent` says
   * its span was sampled, never when it says it was not, otherwise with probability `sampleRatio`.
   * Null (the common case) means nothing else is done or allocated for the request.
   */
  sample(traceparent: string | undefined, tracestate: string | undefined): Context | null {
    if (traceparent !== undefined && TRACEPARENT.test(traceparent)) {
      const sc = parseTraceParent(traceparent);
      if (sc !== null) {
        if ((sc.traceFlags & 1) === 0) return null;
        if (tracestate) sc.traceState = new TraceState(tracestate);
        return trace.setSpanContext(ROOT_CONTEXT, { ...sc, isRemote: true });
      }
    }
    return this.opts.sampleRatio > 0 && Math.random() < this.opts.sampleRatio ? ROOT_CONTEXT : null;
  }

  /** Starts the SERVER span of a request `sample` chose. */
  start(parent: Context, name: string, attributes: Attributes): RequestTrace {
    return new RequestSpan(this.tracer, this.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent));
  }
}

class SpanHandle implements TraceSpan {
  private ended = false;
  constructor(protected readonly span: Span) {}

  get traceparent(): string {
    const sc = this.span.spanContext();
    return `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags & 1 ? '01' : '00'}`;
  }

  setAttribute(key: string, value: AttributeValue): void {
    this.span.setAttribute(key, value);
  }

  end(error?: string | null): void {
    this.endAt(undefined, error);
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** Ends the span at `time` (epoch ms), or now. */
  endAt(time: number | undefined, error?: string | null): void {
    if (this.ended) return;
    this.ended = true;
    if (error) this.span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    this.span.end(time);
  }
}

class RequestSpan extends SpanHandle implements RequestTrace {
  private children: SpanHandle[] | null = null;
  private readonly context: Context;

  constructor(
    private readonly tracer: Tracer,
    span: Span,
  ) {
    super(span);
    this.context = trace.setSpan(ROOT_CONTEXT, span);
  }

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  rename(name: string): void {
    this.span.updateName(name);
  }

  startChild(name: string, attributes?: Attributes, kind: 'client' | 'internal' = 'internal'): TraceSpan {
    const child = new SpanHandle(this.tracer.startSpan(name, { kind: kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes }, this.context));
    (this.children ??= []).push(child);
    return child;
  }

  /**
   * Ends the request span. A stage that answered the request ends its own span only after the
   * response is finished (its promise settles a few microtasks later), so children are given until the
   * next turn of the event loop; any still open then (an integration span, a client that went away)
   * are ended with the request's end time.
   */
  override end(error?: string | null): void {
    const at = performance.timeOrigin + performance.now();
    super.endAt(at, error);
    const children = this.children;
    if (children === null) return;
    setImmediate(() => {
      for (const c of children) if (c.isOpen) c.endAt(at, error);
    });
  }
}
