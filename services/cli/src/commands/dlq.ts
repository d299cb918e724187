import { loadConfig } from '@turnpike/config';
import { listDeadLetters, replayDeadLetters, type DeadLetter } from '@turnpike/worker';
import { UsageError, parse, type Command } from '../command.js';
import { withRedis } from './storeAccess.js';

export const command: Command = {
  help: `turnpike dlq list --config FILE [--function NAME]... [--redis URL] [--key-prefix P] [--json]
turnpike dlq replay --config FILE [--function NAME]... [--id JOBID]... [--redis URL] [--key-prefix P] [--json]

Asynchronous invocations that failed every retry wait in their function's dead-letter queue.
list shows them (function, job id, request id, attempts, last error); replay queues them again with
their retries reset (all of them, or only --id ones). Without --function, every function is searched.`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      config: { type: 'string', short: 'c' },
      function: { type: 'string', multiple: true },
      id: { type: 'string', multiple: true },
      redis: { type: 'string' },
      'key-prefix': { type: 'string' },
      json: { type: 'boolean' },
    }, 1);
    const action = positionals[0];
    if (action !== 'list' && action !== 'replay') throw new UsageError('expected "list" or "replay"');
    if (!values.config) throw new UsageError('--config is required');
    if (action === 'list' && values.id) throw new UsageError('--id applies to replay');
    const config = loadConfig(values.config);
    const prefix = values['key-prefix'] ?? config.gateway.redis.keyPrefix;
    return withRedis('dlq', { ...config.gateway.redis, url: values.redis ?? process.env.REDIS_URL ?? config.gateway.redis.url }, async (redis) => {
      const letters = action === 'list' ? await listDeadLetters(redis, prefix, values.function) : await replayDeadLetters(redis, prefix, values.function, values.id);
      if (values.json) process.stdout.write(`${JSON.stringify({ [action === 'list' ? 'deadLetters' : 'replayed']: letters })}\n`);
      else print(action, letters);
      return 0;
    });
  },
};

function print(action: 'list' | 'replay', letters: DeadLetter[]): void {
  if (letters.length === 0) {
    console.log(action === 'list' ? 'no dead letters' : 'nothing to replay');
    return;
  }
  for (const l of letters) {
    const when = l.failedAt ? new Date(l.failedAt).toISOString() : '-';
    console.log(`${action === 'replay' ? 'replayed ' : ''}${l.function}\tjob ${l.jobId}\trequest ${l.requestId}\tattempts ${l.attempts}\tfailed ${when}\t${l.failedReason}`);
  }
}
