import { Gateway, loadConfig, formatIssue, type TurnpikeConfig } from '@turnpike/config';
import { FunctionRegistryError, FunctionWorker } from '@turnpike/worker';
import { UsageError, intOption, onShutdown, parse, type Command } from '../command.js';

export const command: Command = {
  help: `turnpike worker --config FILE [--functions DIR] [--redis URL] [--key-prefix P] [--concurrency N] [--lock-ms N]
turnpike worker --control URL [--config FILE] [--control-poll-ms N] [...]

Runs the functions declared in FILE (and, with --functions, every .mjs/.js/.cjs module in DIR under its
file name, export "handler"), consuming their invocation queues. Any number of workers, on any machines,
can share the queues. Each invocation runs in a host process of its function; --concurrency caps the
invocations of one function this worker runs at once (default: 2 per CPU). --lock-ms is how soon another
worker takes over the queued (BullMQ) jobs of a worker that died (default 30000).
With --control it also runs the functions deployed with the control plane's APIs (in the Redis at URL),
each version some stage serves, following every deploy without a restart (docs/functions.md).
Prints {"event":"ready",...} on stdout once every function is loaded. SIGTERM or SIGINT stops taking jobs,
lets running invocations finish, and exits 0.`,
  async run(argv) {
    const { values } = parse(argv, {
      config: { type: 'string', short: 'c' },
      functions: { type: 'string' },
      redis: { type: 'string' },
      'key-prefix': { type: 'string' },
      concurrency: { type: 'string' },
      'lock-ms': { type: 'string' },
      control: { type: 'string' },
      'control-poll-ms': { type: 'string' },
    });
    if (!values.config && !values.control) throw new UsageError('--config (or --control) is required');
    // The control plane lives in the Redis the worker shares with the edges: one URL.
    if (values.control && values.redis && values.control !== values.redis) throw new UsageError('--control and --redis name different Redis servers: the control plane is in the gateway\'s Redis');
    const config: TurnpikeConfig = values.config ? loadConfig(values.config) : { file: 'control plane', gateway: Gateway.parse({}), apis: [], functions: {}, warnings: [] };
    let worker: FunctionWorker;
    try {
      worker = new FunctionWorker({
        config,
        functionsDir: values.functions,
        redisUrl: values.redis ?? values.control ?? process.env.REDIS_URL,
        control: values.control ? { pollMs: intOption(values['control-poll-ms'], 'control-poll-ms', 50, 600_000) } : undefined,
        keyPrefix: values['key-prefix'],
        concurrency: intOption(values.concurrency, 'concurrency', 1, 10_000),
        lockDurationMs: intOption(values['lock-ms'], 'lock-ms', 1_000, 600_000),
      });
    } catch (err) {
      if (err instanceof FunctionRegistryError) {
        console.error(err.message);
        return 1;
      }
      throw err;
    }
    for (const w of config.warnings) worker.logger.warn({ file: w.file, path: w.path, line: w.line }, `config: ${formatIssue(w)}`);
    if (worker.configured.length === 0 && !values.control && !config.gateway.control.enabled) throw new UsageError('no functions: declare some under functions: in the config, pass --functions DIR, or follow the control plane (--control)');
    await worker.start();
    process.stdout.write(`${JSON.stringify({ event: 'ready', functions: worker.functions.map((f) => f.queue), concurrency: worker.concurrency, pid: process.pid })}\n`);
    await onShutdown(() => worker.stop());
    return 0;
  },
};
