import { RedisKeys } from '@turnpike/redis';
import { CredentialStore } from '@turnpike/edge';
import { UsageError, parse, type Command } from '../command.js';
import { STORE_HELP, STORE_OPTIONS, printTable, redisTarget, withRedis } from './storeAccess.js';

export const command: Command = {
  help: `turnpike credentials create [--description TEXT] [redis options]
turnpike credentials list [redis options]
turnpike credentials revoke ACCESS_KEY_ID [redis options]

Access-key pairs for the WebSocket management API (@connections, @topics), which verifies AWS SigV4
signatures (service execute-api). create prints the secret once; give the pair to functions and tools as
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. The secret is kept in Redis (SigV4 verification needs it):
see docs/websocket.md. A revoked key stops working on every edge within 10 seconds.
${STORE_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...STORE_OPTIONS, description: { type: 'string' } });
    const [action, id, ...extra] = positionals;
    if (action !== 'create' && action !== 'list' && action !== 'revoke') throw new UsageError('expected "create", "list" or "revoke"');
    if (action === 'revoke' && (id === undefined || extra.length > 0)) throw new UsageError('revoke takes one ACCESS_KEY_ID');
    if (action !== 'revoke' && id !== undefined) throw new UsageError(`unexpected argument "${id}"`);
    if (action !== 'create' && values.description !== undefined) throw new UsageError('--description applies to create');
    const { endpoint, prefix } = redisTarget(values);
    return withRedis('credentials', endpoint, async (redis) => {
      const store = new CredentialStore(redis, new RedisKeys(prefix));
      if (action === 'create') {
        const c = await store.create(values.description ?? '');
        if (values.json) process.stdout.write(`${JSON.stringify(c)}\n`);
        else console.log(`AWS_ACCESS_KEY_ID=${c.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${c.secretAccessKey}\n# the secret is shown once; keep it safe`);
        return 0;
      }
      if (action === 'list') {
        const list = await store.list();
        if (values.json) process.stdout.write(`${JSON.stringify({ credentials: list })}\n`);
        else if (list.length === 0) console.log('no credentials');
        else printTable(['ACCESS KEY ID', 'CREATED', 'DESCRIPTION'], list.map((c) => [c.accessKeyId, c.createdAt, c.description]));
        return 0;
      }
      if (id === undefined) throw new UsageError('revoke takes one ACCESS_KEY_ID');
      if (!(await store.revoke(id))) {
        console.error(`turnpike credentials: no access key ${id}`);
        return 1;
      }
      console.log(`revoked ${id}`);
      return 0;
    });
  },
};
