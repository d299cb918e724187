// What the real `turnpike` command accepts, read from its --help (after `npm run build`, which the test
// setup runs), so infra files cannot drift from the CLI.
import { execFileSync } from 'node:child_process';
import { TURNPIKE_BIN } from '@turnpike/testing';

const helpTexts = new Map<string, string>();
function help(args: string[]): string {
  const key = args.join(' ');
  let text = helpTexts.get(key);
  if (text === undefined) helpTexts.set(key, (text = execFileSync(process.execPath, [TURNPIKE_BIN, ...args, '--help'], { encoding: 'utf8' })));
  return text;
}

/** The subcommands `turnpike --help` lists. */
export function turnpikeCommands(): Set<string> {
  const text = help([]);
  const list = text.slice(text.indexOf('commands:'), text.indexOf('turnpike <command> --help'));
  return new Set([...list.matchAll(/^\s+([a-z-]+)(?:\s{2,}.*)?$/gm)].flatMap(([, name]) => (name === undefined ? [] : [name])));
}

/** The options `turnpike <command> --help` shows in its usage line. */
export function turnpikeOptions(command: string): Set<string> {
  const usage = help([command]).split('\n')[0] ?? '';
  if (!usage.startsWith(`turnpike ${command}`)) throw new Error(`unexpected help of turnpike ${command}: ${usage}`);
  return new Set([...usage.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]));
}

/** Problems with one command line for a container: an unknown subcommand, unknown options, options without a value. */
export function commandProblems(where: string, tokens: string[]): string[] {
  const [sub, ...rest] = tokens;
  if (!sub || !turnpikeCommands().has(sub)) return [`${where}: "${sub}" is not a turnpike command`];
  const options = turnpikeOptions(sub);
  const problems: string[] = [];
  rest.forEach((t, i) => {
    if (!t.startsWith('--')) return;
    if (!options.has(t)) problems.push(`${where}: turnpike ${sub} has no option ${t} (it accepts ${[...options].join(' ')})`);
    const value = rest[i + 1];
    if (value === undefined || value.startsWith('--')) problems.push(`${where}: ${t} has no value`);
  });
  if (!rest.includes('--config')) problems.push(`${where}: turnpike ${sub} needs --config`);
  return problems;
}
