import { loadConfig, formatIssue } from '@turnpike/config';
import { Edge, PortInUseError } from '@turnpike/edge';
import { UsageError, intOption, onShutdown, parse, type Command } from '../command.js';

export const command: Command = {
  help: `turnpike edge --config FILE [--port N] [--management-port N|-1] [--redis URL] [--key-prefix P] [--port-group NAME] [--processes N]

Starts one edge node serving the APIs in FILE (a Turnpike config or an OpenAPI 3 document).
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
      'port-group': { type: 'string' },
      processes: { type: 'string' },
    });
    if (!values.config) throw new UsageError('--config is required');
    const config = loadConfig(values.config);
    const processes = intOption(values.processes, 'processes', 1, 1024) ?? 1;
    if (processes > 1) {
      const { superviseEdges } = await import('../supervisor.js');
      return superviseEdges({
        processes,
        args: ['--config', values.config, ...(values.redis ? ['--redis', values.redis] : []), ...(values['key-prefix'] ? ['--key-prefix', values['key-prefix']] : [])],
        port: intOption(values.port, 'port', 0, 65535),
        managementPort: intOption(values['management-port'], 'management-port', -1, 65535),
        portGroup: values['port-group'],
        killAfterMs: config.gateway.shutdownGraceMs + 5_000,
      });
    }
    const edge = new Edge({
      config,
      port: intOption(values.port, 'port', 0, 65535),
      managementPort: intOption(values['management-port'], 'management-port', -1, 65535),
      redisUrl: values.redis ?? process.env.REDIS_URL,
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
    await onShutdown(() => edge.stop());
    return 0;
  },
};
