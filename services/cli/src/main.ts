import { UsageError, type Command } from './command.js';

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<{ command: Command }>;
}

/**
 * `turnpike <command> [options]`. Each command is its own module, loaded only when asked for (the build
 * splits them into chunks), so `turnpike --help` and `turnpike validate` load neither uWebSockets.js,
 * BullMQ nor OpenTelemetry. This file imports nothing else for the same reason.
 */
const COMMANDS: Record<string, CommandEntry> = {
  edge: { summary: 'run an edge node (HTTP and WebSocket APIs)', load: () => import('./commands/edge.js') },
  worker: { summary: 'run function workers for Lambda-style handlers', load: () => import('./commands/worker.js') },
  export: { summary: 'write an API back as an AWS-style OpenAPI or Swagger document', load: () => import('./commands/export.js') },
  validate: { summary: 'check a config or OpenAPI file; every error with file, field and line', load: () => import('./commands/validate.js') },
  keys: { summary: 'create, list, disable and enable API keys', load: () => import('./commands/keys.js') },
  plans: { summary: 'usage plans: throttle and quota per API stage, keys attached', load: () => import('./commands/plans.js') },
  usage: { summary: 'calls and bytes per key per day (like AWS GetUsage)', load: () => import('./commands/usage.js') },
  dlq: { summary: 'list or replay asynchronous invocations that failed every retry', load: () => import('./commands/dlq.js') },
  billing: { summary: 'prices, statements, month closing and usage export to billing systems', load: () => import('./commands/billing.js') },
  credentials: { summary: 'access-key pairs for signing @connections calls (SigV4)', load: () => import('./commands/credentials.js') },
  control: { summary: 'run the admin HTTP API (and manage its admin tokens)', load: () => import('./commands/control.js') },
  apis: { summary: 'put, list, show and delete API definitions of the control plane', load: () => import('./commands/apis.js') },
  deploy: { summary: 'freeze an API definition into a deployment and point a stage at it', load: () => import('./commands/deploy.js') },
  deployments: { summary: 'list, show and diff deployments', load: () => import('./commands/deployments.js') },
  stages: { summary: 'stage variables, throttle and history', load: () => import('./commands/stages.js') },
  rollback: { summary: 're-point a stage at the previous (or a given) deployment', load: () => import('./commands/rollback.js') },
  canary: { summary: 'create, promote and delete canary deployments on a stage', load: () => import('./commands/canary.js') },
  domains: { summary: 'base path mappings of custom domains', load: () => import('./commands/domains.js') },
  connections: { summary: 'list, show, send to and close WebSocket connections; publish to topics', load: () => import('./commands/connections.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`);
  return ['usage: turnpike <command> [options]', '', 'commands:', ...rows, '', 'turnpike <command> --help for its options'].join('\n');
}

/** A ConfigError from @turnpike/config, recognised by its code so that this file need not load the config package. */
function isConfigError(err: unknown): err is Error {
  return err instanceof Error && (err as { code?: unknown }).code === 'TP_CONFIG_INVALID';
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`turnpike: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const { command } = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`turnpike ${name}: ${err.message}\n\n${command.help}`);
      return 2;
    }
    if (isConfigError(err)) {
      // The same lines `turnpike validate` prints. A long-running command may already hold connections
      // (an edge opens Redis before compiling routes), so the process exits here rather than lingering.
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // Long-running commands (edge, worker) never resolve; the others exit with their code.
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
