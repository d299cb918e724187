import { ConfigError } from '@turnpike/config';
import { UsageError, type Command } from './command.js';

/**
 * `turnpike <command> [options]`. Each command is its own module, loaded only when asked for, so
 * `turnpike validate` does not load uWebSockets.js or BullMQ.
 */
const COMMANDS: Record<string, () => Promise<{ command: Command }>> = {
  edge: () => import('./commands/edge.js'),
  validate: () => import('./commands/validate.js'),
  export: () => import('./commands/export.js'),
  keys: () => import('./commands/keys.js'),
  plans: () => import('./commands/plans.js'),
  usage: () => import('./commands/usage.js'),
  worker: () => import('./commands/worker.js'),
  dlq: () => import('./commands/dlq.js'),
  credentials: () => import('./commands/credentials.js'),
};

function usage(): string {
  const lines = ['usage: turnpike <command> [options]', '', 'commands:'];
  return lines.concat(Object.keys(COMMANDS).map((c) => `  ${c}`), '', 'turnpike <command> --help for its options').join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`turnpike: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const { command } = await load();
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
    if (err instanceof ConfigError) {
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
