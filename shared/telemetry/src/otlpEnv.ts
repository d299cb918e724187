/**
 * Whether the standard OpenTelemetry environment configures an OTLP endpoint for `signal`. The OTLP
 * exporters read the endpoint, headers and protocol details from the same variables themselves.
 */
export function otlpEndpointConfigured(signal: 'METRICS' | 'TRACES', env: NodeJS.ProcessEnv = process.env): boolean {
  return !!(env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`] || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}
