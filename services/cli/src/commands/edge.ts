import { loadConfig, formatIssue } from '@turnpike/config';
import { Edge } from '@turnpike/edge';
import { STAGE_VARIABLE_OPTION, UsageError, intOption, onShutdown, parse, stageVariables, type Command } from '../command.js';

export const command: Command = {
  help: `turnpike edge --config FILE [--port N] [--management-port N|-1] [--redis URL] [--key-prefix P] [--stage-variable NAME=VALUE ...]

Starts one edge node serving the APIs in FILE (a Turnpike config, an OpenAPI 3 or a Swagger 2.0 document;
--stage-variable sets the variables of a document's stage).
SIGTERM or SIGINT stops accepting, lets in-flight requests finish (gateway.shutdownGraceMs), and exits 0.
Several edge processes can share one port (SO_REUSEPORT).`,
  async run(argv) {
    const { values } = parse(argv, {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      'management-port': { type: 'string' },
      redis: { type: 'string' },
      'key-prefix': { type: 'string' },
      ...STAGE_VARIABLE_OPTION,
    });
    if (!values.config) throw new UsageError('--config is required');
    const config = loadConfig(values.config, { stageVariables: stageVariables(values['stage-variable']) });
    const edge = new Edge({
      config,
      port: intOption(values.port, 'port', 0, 65535),
      managementPort: intOption(values['management-port'], 'management-port', -1, 65535),
      redisUrl: values.redis ?? process.env.REDIS_URL,
      keyPrefix: values['key-prefix'],
    });
    for (const w of config.warnings) edge.logger.warn({ file: w.file, path: w.path, line: w.line }, `config: ${formatIssue(w)}`);
    await edge.start();
    // A line a supervisor (or a test) can wait for, with the ports actually bound.
    process.stdout.write(`${JSON.stringify({ event: 'listening', port: edge.port, managementPort: edge.managementPort, pid: process.pid })}\n`);
    await onShutdown(() => edge.stop());
    return 0;
  },
};
