import { seg } from '@turnpike/control';
import type { DefinitionChange, DeploymentRecord, DeploymentSummary } from '@turnpike/redis';
import { UsageError, parse, type Command } from '../command.js';
import { printTable } from './storeAccess.js';
import { CONTROL_HELP, CONTROL_OPTIONS, print, required, withClient } from './controlAccess.js';

export const command: Command = {
  help: `turnpike deployments list --api NAME
turnpike deployments show --api NAME ID
turnpike deployments diff --api NAME FROM TO

Deployments are immutable snapshots of an API definition (turnpike deploy makes them). diff lists what
changed from FROM to TO, field by field (routes by route key).
${CONTROL_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONTROL_OPTIONS, api: { type: 'string' } });
    const [action, ...ids] = positionals;
    const [from, to] = ids;
    const want = action === 'list' ? 0 : action === 'show' ? 1 : action === 'diff' ? 2 : -1;
    if (want < 0) throw new UsageError(action ? `unknown action "${action}" (list, show, diff)` : 'an action is required: list, show or diff');
    if (ids.length !== want) throw new UsageError(`${action} takes ${want === 0 ? 'no deployment ids' : want === 1 ? 'one deployment id' : 'two deployment ids'}`);
    const api = seg(required(values.api, 'api'));
    return withClient('deployments', values, async (client) => {
      if (action === 'list') {
        const { deployments } = await client.call<{ deployments: DeploymentSummary[] }>('GET', `/v1/apis/${api}/deployments`);
        print(values.json, { deployments }, () => printTable(['ID', 'CREATED', 'BY', 'SHA256', 'DESCRIPTION'], deployments.map((d) => [d.id, d.createdAt, d.createdBy, d.hash.slice(0, 12), d.description])));
      } else if (action === 'show' && from !== undefined) {
        const d = await client.call<DeploymentRecord>('GET', `/v1/apis/${api}/deployments/${seg(from)}`);
        print(values.json, d, () => console.log(JSON.stringify(d, null, 2)));
      } else if (from !== undefined && to !== undefined) {
        const d = await client.call<{ changes: DefinitionChange[] }>('GET', `/v1/apis/${api}/deployments/${seg(from)}/diff/${seg(to)}`);
        print(values.json, d, () => {
          if (d.changes.length === 0) console.log('no differences');
          for (const c of d.changes) {
            const sign = c.change === 'added' ? '+' : c.change === 'removed' ? '-' : '~';
            console.log(`${sign} ${c.path}${c.change === 'changed' ? `: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}` : `: ${JSON.stringify(c.change === 'added' ? c.to : c.from)}`}`);
          }
        });
      }
      return 0;
    });
  },
};
