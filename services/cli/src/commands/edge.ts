import { Gateway, loadConfig, formatIssue, type TurnpikeConfig } from '@turnpike/config';
import { Edge, PortInUseError } from '@turnpike/edge';
import { STAGE_VARIABLE_OPTION, UsageError, intOption, onShutdown, parse, stageVariables, type Command } from '../command.js';

export const command: Command = {
  help: `turnpike edge --config FILE [--port N] [--management-port N|-1] [--redis URL] [--key-prefix P] [--port-group NAME] [--processes N] [--stage-variable NAME=VALUE ...]
turnpike edge --control URL [--config FILE] [--control-poll-ms N] [...]

Starts one edge node serving the APIs in FILE (a Turnpike config, an OpenAPI 3 or a Swagger 2.0 document;
--stage-variable sets the variables of a document's stage). With --control it serves the APIs of the
control plane in the Redis at URL instead (docs/versions.md), follows every deploy without restarting,
and takes only gateway settings from FILE (defaults without one).
SIGTERM or SIGINT stops accepting, lets in-flight requests finish (gateway.shutdownGraceMs), and exits 0.
A port in use makes the edge exit 1 with the reason, unless it is held by edges started with the same
--port-group NAME: those share the port (SO_REUSEPORT) and split its connections.
--processes N runs N edge processes on the port (one per core is the usual choice) under this one, in a
port group of their own; a process that dies is started again (backoff 100 ms to 10 s), and SIGTERM drains
them all.`,
  async run(argv) {
    const { values } = parse(argv, {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      'management-port': { type: 'string' },
      redis: { type: 'string' },
      'key-prefix': { type: 'string' },
      control: { type: 'string' },
      'control-poll-ms': { type: 'string' },
      'port-group': { type: 'string' },
      processes: { type: 'string' },
      ...STAGE_VARIABLE_OPTION,
    });
    if (!values.config && !values.control) throw new UsageError('--config (or --control) is required');
    // The control plane lives in the Redis the edge shares with every other node: one URL.
    if (values.control && values.redis && values.control !== values.redis) throw new UsageError('--control and --redis name different Redis servers: the control plane is in the gateway\'s Redis');
    const config: TurnpikeConfig = values.config
      ? loadConfig(values.config, { stageVariables: stageVariables(values['stage-variable']) })
      : { file: 'control plane', gateway: Gateway.parse({}), apis: [], functions: {}, warnings: [] };
    const processes = intOption(values.processes, 'processes', 1, 1024) ?? 1;
    if (processes > 1) {
      const { superviseEdges } = await import('../supervisor.js');
      const pass = (name: 'config' | 'redis' | 'key-prefix' | 'control' | 'control-poll-ms'): string[] => (values[name] ? [`--${name}`, values[name]] : []);
      return superviseEdges({
        processes,
        args: [
          ...pass('config'),
          ...pass('redis'),
          ...pass('key-prefix'),
          ...pass('control'),
          ...pass('control-poll-ms'),
          ...(values['stage-variable'] ?? []).flatMap((kv) => ['--stage-variable', kv]),
        ],
        port: intOption(values.port, 'port', 0, 65535),
        managementPort: intOption(values['management-port'], 'management-port', -1, 65535),
        portGroup: values['port-group'],
        killAfterMs: config.gateway.shutdownGraceMs + 5_000,
      });
    }
    // The composition root of an edge process: one OpenTelemetry SDK for the process, exporters from
    // the OTEL_* variables, its providers handed to the edge (docs/monitoring-and-cors.md). Started only
    // when something reads what it collects: metrics are read on the management listener's /metrics or
    // by an exporter, spans only by an exporter. An edge without either (e.g. `--management-port=-1` and
    // no OTEL_* exporter) does not load the SDK, and collects no metrics (EdgeTelemetry's metricsRead).
    const managementPort = intOption(values['management-port'], 'management-port', -1, 65535);
    const sdk = await import('@turnpike/telemetry/sdk');
    const metricsRead = config.gateway.metrics.enabled && ((managementPort ?? config.gateway.management.port) >= 0 || sdk.signalExported('METRICS'));
    const spansRead = config.gateway.tracing.enabled && sdk.signalExported('TRACES');
    const telemetry = metricsRead || spansRead ? await sdk.startProcessTelemetry({ serviceName: 'turnpike-edge' }) : undefined;
    const edge = new Edge({
      config,
      telemetry: { providers: telemetry },
      control: values.control ? { pollMs: intOption(values['control-poll-ms'], 'control-poll-ms', 50, 600_000) } : undefined,
      port: intOption(values.port, 'port', 0, 65535),
      managementPort,
      redisUrl: values.redis ?? values.control ?? process.env.REDIS_URL,
      keyPrefix: values['key-prefix'],
      portGroup: values['port-group'] ?? null,
    });
    for (const w of config.warnings) edge.logger.warn({ file: w.file, path: w.path, line: w.line }, `config: ${formatIssue(w)}`);
    try {
      await edge.start();
    } catch (err) {
      if (!(err instanceof PortInUseError)) throw err;
      // Nothing is listening and nothing was accepted: there is nothing to drain.
      console.error(`turnpike edge: ${err.message}`);
      process.exit(1);
    }
    // A line a supervisor (or a test) can wait for, with the ports actually bound.
    process.stdout.write(`${JSON.stringify({ event: 'listening', port: edge.port, managementPort: edge.managementPort, pid: process.pid })}\n`);
    // Spans and metrics still buffered go out after the last request finished (bounded: see processTelemetry.ts).
    await onShutdown(() => edge.stop().then(() => telemetry?.shutdown()));
    return 0;
  },
};
