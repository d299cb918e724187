import { seg, type ConnectionList } from '@turnpike/control';
import { UsageError, parse, type Command } from '../command.js';
import { printTable } from './storeAccess.js';
import { CONTROL_HELP, CONTROL_OPTIONS, print, required, withClient } from './controlAccess.js';

export const command: Command = {
  help: `turnpike connections list
turnpike connections show ID
turnpike connections send ID --data TEXT
turnpike connections close ID
turnpike connections publish --api NAME --stage STAGE --topic TOPIC --data TEXT

WebSocket connections, on whichever edge holds them: list them (at most 2000), show one, send it a text
message, close it (1000), or publish to every subscriber of a topic of an API stage. The same as
@connections and @topics on the edges, through the admin API (scope area connections).
${CONTROL_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONTROL_OPTIONS, data: { type: 'string' }, api: { type: 'string' }, stage: { type: 'string' }, topic: { type: 'string' } }, 2);
    const [action, id] = positionals;
    const conn = () => {
      if (!id) throw new UsageError(`turnpike connections ${action} needs a connection id`);
      return `/v1/connections/${seg(id)}`;
    };
    switch (action) {
      case 'list':
        return withClient('connections', values, async (client) => {
          const r = await client.call<ConnectionList>('GET', '/v1/connections');
          print(values.json, r, () => {
            printTable(['ID', 'API', 'STAGE', 'NODE', 'SOURCE IP', 'CONNECTED'], r.connections.map((c) => [c.connectionId, c.api, c.stage, c.node, c.sourceIp, new Date(c.connectedAt).toISOString()]));
            if (r.truncated) console.log('(more connections than listed)');
          });
          return 0;
        });
      case 'show':
        return withClient('connections', values, async (client) => {
          const c = await client.call<Record<string, unknown>>('GET', conn());
          print(values.json, c, () => console.log(Object.entries(c).map(([k, v]) => `${k}: ${String(v)}`).join('\n')));
          return 0;
        });
      case 'send': {
        const data = required(values.data, 'data');
        return withClient('connections', values, async (client) => {
          await client.call('POST', `${conn()}/messages`, { body: { data } });
          if (!values.json) console.log(`sent to ${id}`);
          return 0;
        });
      }
      case 'close':
        return withClient('connections', values, async (client) => {
          await client.call('DELETE', conn());
          if (!values.json) console.log(`closed ${id}`);
          return 0;
        });
      case 'publish': {
        const path = `/v1/apis/${seg(required(values.api, 'api'))}/stages/${seg(required(values.stage, 'stage'))}/topics/${seg(required(values.topic, 'topic'))}`;
        const data = required(values.data, 'data');
        return withClient('connections', values, async (client) => {
          const r = await client.call<{ nodes: number }>('POST', path, { body: { data } });
          print(values.json, r, () => console.log(`published to ${values.topic} (${r.nodes} edge(s) listening)`));
          return 0;
        });
      }
      default:
        throw new UsageError(action ? `unknown action "${action}" (list, show, send, close, publish)` : 'an action is required: list, show, send, close or publish');
    }
  },
};
