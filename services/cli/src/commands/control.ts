import { ControlServer } from '@turnpike/control';
import { AdminTokenStore, RedisKeys } from '@turnpike/redis';
import pino from 'pino';
import { UsageError, intOption, onShutdown, parse, type Command } from '../command.js';
import { STORE_HELP, STORE_OPTIONS, printTable, redisTarget, withRedis } from './storeAccess.js';

export const command: Command = {
  help: `turnpike control [--host H] [--port N] [redis options]
turnpike control tokens create --name NAME --scope SCOPE [--scope SCOPE ...] [redis options]
turnpike control tokens list [redis options]
turnpike control tokens revoke ID [redis options]

The first form runs the admin HTTP API (services/control/openapi.yaml) on H:N (default 127.0.0.1:9091):
APIs, deployments, stages, canaries, domains, keys, plans, usage, credentials, connections, tokens.
Every call needs an admin token (Authorization: Bearer tpa_...). The tokens commands work on Redis
directly, to make the first token: the value is printed once and only its SHA-256 is stored. Scopes:
* or <area>:read|write, areas apis, keys, credentials, connections, tokens (write includes read).
${STORE_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...STORE_OPTIONS, host: { type: 'string' }, port: { type: 'string', short: 'p' }, name: { type: 'string' }, scope: { type: 'string', multiple: true } });
    const { endpoint, prefix: keyPrefix } = redisTarget(values);
    if (positionals.length === 0) {
      const server = await new ControlServer({ redis: endpoint, keyPrefix, host: values.host ?? '127.0.0.1', port: intOption(values.port, 'port', 0, 65535) ?? 9091, logger: pino({ name: 'turnpike-control' }) }).start();
      process.stdout.write(`${JSON.stringify({ event: 'listening', port: server.port, pid: process.pid })}\n`);
      await onShutdown(() => server.close());
      return 0;
    }
    const [group, action, ...rest] = positionals;
    if (group !== 'tokens') throw new UsageError(`unknown subcommand "${group}" (tokens)`);
    return withRedis('control', endpoint, async (redis) => {
      const tokens = new AdminTokenStore(redis, new RedisKeys(keyPrefix));
      if (action === 'create') {
        if (!values.name) throw new UsageError('--name is required');
        const t = await tokens.create({ name: values.name, scopes: values.scope ?? [], by: `cli:${process.env.USER ?? 'unknown'}` });
        if (values.json) process.stdout.write(`${JSON.stringify(t)}\n`);
        else console.log(`TURNPIKE_TOKEN=${t.token}\n# admin token ${t.id} (${t.scopes.join(' ')}); shown once, keep it safe`);
      } else if (action === 'list') {
        const list = await tokens.list();
        if (values.json) process.stdout.write(`${JSON.stringify({ tokens: list })}\n`);
        else printTable(['ID', 'NAME', 'SCOPES', 'CREATED'], list.map((t) => [t.id, t.name, t.scopes.join(' '), t.createdAt]));
      } else if (action === 'revoke') {
        const [id, ...extra] = rest;
        if (id === undefined || extra.length > 0) throw new UsageError('revoke takes one token ID');
        await tokens.revoke(id);
        console.log(`revoked ${id}`);
      } else throw new UsageError('expected tokens create, list or revoke');
      return 0;
    });
  },
};
