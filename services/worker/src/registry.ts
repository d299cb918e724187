import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { FUNCTION_NAME, FunctionDefinition, type FunctionDefinitionConfig, type TurnpikeConfig } from '@turnpike/config';

/** A function as a worker runs it: the module file resolved, every default applied. */
export interface FunctionSpec {
  readonly name: string;
  /** `$LATEST` for a function of the worker's config; a deployed function's version (deployedFunctions.ts). */
  readonly version: string;
  /** What the edges invoke, and so the queue's name: the name, or `name@version` for a deployed function. */
  readonly queue: string;
  readonly modulePath: string;
  readonly exportName: string;
  /** The handler's directory (`LAMBDA_TASK_ROOT`). */
  readonly root: string;
  readonly timeoutMs: number;
  readonly memoryMB: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly concurrency: number | undefined;
  readonly maxRetries: number;
  readonly retryBackoffMs: number;
  readonly deadLetterRetentionMs: number;
}

/** A function the worker cannot run: its module is missing, or two sources define one name. */
export class FunctionRegistryError extends Error {
  readonly code = 'TP_FUNCTION_REGISTRY';
}

const MODULE_EXTENSIONS = ['.mjs', '.js', '.cjs'];

/**
 * The functions a worker serves: those declared in the config (handler paths relative to the config
 * file) and, with `--functions DIR`, every module in DIR under its file name with export `handler`.
 * A function declared in the config wins over a module of the same name in DIR.
 */
export function loadFunctions(config: TurnpikeConfig, functionsDir?: string): FunctionSpec[] {
  const specs = new Map<string, FunctionSpec>();
  const problems: string[] = [];
  const configDir = dirname(config.file);
  for (const [name, def] of Object.entries(config.functions)) {
    const dot = def.handler.lastIndexOf('.');
    const modulePath = resolveModule(resolve(configDir, def.handler.slice(0, dot)));
    if (modulePath === null) {
      problems.push(`${config.file}: functions.${name}.handler: no module ${def.handler.slice(0, dot)}{${MODULE_EXTENSIONS.join(',')}} next to the config file`);
      continue;
    }
    specs.set(name, { name, version: '$LATEST', queue: name, modulePath, exportName: def.handler.slice(dot + 1), root: dirname(modulePath), ...defaults(def) });
  }
  if (functionsDir !== undefined) {
    const dir = resolve(functionsDir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new FunctionRegistryError(`--functions ${functionsDir}: not a directory`);
    for (const file of readdirSync(dir).sort()) {
      const ext = extname(file);
      if (!MODULE_EXTENSIONS.includes(ext)) continue;
      const name = basename(file, ext);
      if (specs.has(name)) continue;
      if (!FUNCTION_NAME.test(name)) {
        problems.push(`${join(dir, file)}: "${name}" is not a function name (1 to 64 letters, digits, - and _)`);
        continue;
      }
      specs.set(name, { name, version: '$LATEST', queue: name, modulePath: join(dir, file), exportName: 'handler', root: dir, ...defaults(FunctionDefinition.parse({ handler: `${name}.handler` })) });
    }
  }
  if (problems.length) throw new FunctionRegistryError(problems.join('\n'));
  return [...specs.values()];
}

/** The settings a worker applies, from a config's or a deployment's function. */
export function defaults(def: Omit<FunctionDefinitionConfig, 'handler'>) {
  return {
    timeoutMs: def.timeoutMs,
    memoryMB: def.memoryMB,
    environment: def.environment,
    concurrency: def.concurrency,
    maxRetries: def.maxRetries,
    retryBackoffMs: def.retryBackoffMs,
    deadLetterRetentionMs: def.deadLetterRetentionMs,
  };
}

function resolveModule(base: string): string | null {
  if (MODULE_EXTENSIONS.includes(extname(base)) && existsSync(base)) return base;
  for (const ext of MODULE_EXTENSIONS) if (existsSync(base + ext)) return base + ext;
  return null;
}
