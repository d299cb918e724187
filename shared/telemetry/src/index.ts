export { GatewayMetrics, type GatewayMetricsOptions, type RouteLabels } from './metrics/gatewayMetrics.js';
export { RequestTracer, type RequestTrace, type RequestTracerOptions, type TraceSpan } from './tracing/requestTracer.js';
export { compileAccessLogFormat, type ValueGetter } from './accessLog/template.js';
export { AccessLogDestinationError, AccessLogWriter, type AccessLogWriterOptions } from './accessLog/writer.js';
export { otlpEndpointConfigured } from './otlpEnv.js';
