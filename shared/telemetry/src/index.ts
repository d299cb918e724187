export { GatewayMetrics, type GatewayMetricsOptions, type RouteLabels } from './metrics/gatewayMetrics.js';
export { RequestTracer, type RequestTrace, type RequestTracerOptions, type TraceSpan } from './tracing/requestTracer.js';
export { localTelemetry, type TelemetryProviders } from './providers.js';
export { compileAccessLogFormat, type ValueGetter } from './accessLog/template.js';
export { AccessLogDestinationError, AccessLogWriter, type AccessLogWriterOptions } from './accessLog/writer.js';
