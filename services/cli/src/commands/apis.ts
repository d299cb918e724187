import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { loadConfig, type ApiConfig, type DeployedFunctionConfig, type TurnpikeConfig } from '@turnpike/config';
import { seg } from '@turnpike/control';
import type { ApiRecord } from '@turnpike/redis';
import { UsageError, parse, type Command } from '../command.js';
import { printTable } from './storeAccess.js';
import { CONTROL_HELP, CONTROL_OPTIONS, ifMatch, print, withClient } from './controlAccess.js';

export const command: Command = {
  help: `turnpike apis put --file FILE [--api NAME] [--functions]
turnpike apis list
turnpike apis show NAME
turnpike apis delete NAME

put creates or replaces API definitions from FILE, a Turnpike config (each of its APIs, or only --api NAME)
or an OpenAPI 3 document (AWS export; --api names it). FILE is checked exactly as turnpike validate checks
it, and the admin API checks the definition again. Nothing is served until a deploy (turnpike deploy).
--functions deploys the functions of FILE's functions: block that the API's routes and authorizers use
with it, code included: each handler module is read as it is (one self-contained file, at most 1 MiB:
bundle its dependencies in) and run by workers started with --control (docs/functions.md).
${CONTROL_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONTROL_OPTIONS, file: { type: 'string', short: 'f' }, api: { type: 'string' }, functions: { type: 'boolean' } }, 2);
    const [action, name] = positionals;
    switch (action) {
      case 'put': {
        if (!values.file) throw new UsageError('--file is required');
        const config = loadConfig(values.file, { checkStageVariables: false });
        const [only, ...others] = config.apis;
        const isOpenApiFile = only !== undefined && others.length === 0 && only.openapi === config.file;
        const apis = isOpenApiFile ? [{ ...only, name: values.api ?? only.name }] : config.apis.filter((a) => values.api === undefined || a.name === values.api);
        if (apis.length === 0) throw new UsageError(`${values.file} has no API named "${values.api}"`);
        return withClient('apis', values, async (client) => {
          for (const { openapi: _file, ...api } of apis) {
            const definition = values.functions ? { ...api, functions: { ...api.functions, ...deployedFunctions(config, api) } } : api;
            const r = await client.call<ApiRecord>('PUT', `/v1/apis/${seg(definition.name)}`, { body: { definition }, ifMatch: ifMatch(values) });
            print(values.json, r, () => console.log(`API ${r.name} saved (version ${r.version}, ${Object.keys(r.definition.routes).length} routes)`));
          }
          return 0;
        });
      }
      case 'list':
        return withClient('apis', values, async (client) => {
          const { apis } = await client.call<{ apis: ApiRecord[] }>('GET', '/v1/apis');
          print(values.json, { apis }, () => printTable(['NAME', 'VERSION', 'ROUTES', 'UPDATED', 'BY'], apis.map((a) => [a.name, a.version, Object.keys(a.definition.routes).length, a.updatedAt, a.updatedBy])));
          return 0;
        });
      case 'show':
      case 'delete':
        if (!name) throw new UsageError(`${action} takes the API name`);
        return withClient('apis', values, async (client) => {
          if (action === 'show') {
            const r = await client.call<ApiRecord>('GET', `/v1/apis/${seg(name)}`);
            print(values.json, r, () => console.log(JSON.stringify(r, null, 2)));
          } else {
            await client.call('DELETE', `/v1/apis/${seg(name)}`, { ifMatch: ifMatch(values) });
            if (!values.json) console.log(`API ${name} deleted`);
          }
          return 0;
        });
      default:
        throw new UsageError(action ? `unknown action "${action}" (put, list, show, delete)` : 'an action is required: put, list, show or delete');
    }
  },
};

/**
 * The functions of `config` that `api` invokes, as a definition carries them: the handler module's text
 * (resolved as a worker resolves it: relative to the config file, .mjs, .js or .cjs) and the settings.
 */
function deployedFunctions(config: TurnpikeConfig, api: ApiConfig): Record<string, DeployedFunctionConfig> {
  const used = new Set<string>();
  for (const r of [...Object.values(api.routes), ...Object.values(api.websocket?.routes ?? {})]) if (r.integration.type === 'function') used.add(r.integration.function);
  for (const a of Object.values(api.authorizers)) if (a.type === 'token' || a.type === 'request') used.add(a.function);
  const out: Record<string, DeployedFunctionConfig> = {};
  for (const name of [...used].sort()) {
    const def = config.functions[name];
    if (def === undefined) continue;
    const dot = def.handler.lastIndexOf('.');
    const base = resolve(dirname(config.file), def.handler.slice(0, dot));
    const file = ['', '.mjs', '.js', '.cjs'].map((ext) => base + ext).find((f) => ['.mjs', '.js', '.cjs'].includes(extname(f)) && existsSync(f));
    if (file === undefined) throw new UsageError(`${config.file}: functions.${name}.handler: no module ${def.handler.slice(0, dot)}{.mjs,.js,.cjs} next to the config file`);
    const { handler: _path, ...settings } = def;
    out[name] = { ...settings, code: readFileSync(file, 'utf8'), format: extname(file) === '.cjs' ? 'cjs' : 'esm', handler: def.handler.slice(dot + 1) };
  }
  return out;
}
