import { loadConfig, formatIssue } from '@turnpike/config';
import { Edge, PortInUseError } from '@turnpike/edge';
import { UsageError, intOption, onShutdown, parse, type Command } from '../command.js';

export const command: Command = {
  help: `turnpike edge --config FILE [--port N] [--management-port N|-1] [--redis URL] [--key-prefix P] [--port-group NAME]

Starts one edge node serving the APIs in FILE (a Turnpike config or an OpenAPI 3 document).
SIGTERM or SIGINT stops accepting, lets in-flight requests finish (gateway.shutdownGraceMs), and exits 0.
A port in use makes the edge exit 1 with the reason, unless it is held by edges started with the same
--port-group NAME: those share the port (SO_REUSEPORT) and split its connections.`,
  async run(argv) {
    const { values } = parse(argv, {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      'management-port': { type: 'string' },
      redis: { type: 'string' },
      'key-prefix': { type: 'string' },
      'port-group': { type: 'string' },
    });
    if (!values.config) throw new UsageError('--config is required');
    const config = loadConfig(values.config);
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
