import { seg } from '@turnpike/control';
import type { DomainRecord } from '@turnpike/redis';
import { UsageError, parse, type Command } from '../command.js';
import { printTable } from './storeAccess.js';
import { CONTROL_HELP, CONTROL_OPTIONS, ifMatch, print, required, withClient } from './controlAccess.js';

export const command: Command = {
  help: `turnpike domains list
turnpike domains map --domain HOST --base-path PATH --api NAME --stage STAGE
turnpike domains unmap --domain HOST --base-path PATH

Custom domains and their base path mappings: HOST/PATH/... is served by the API's stage (without the
stage in the path); --base-path "(none)" maps the root. A host with mappings is routed by them only.
${CONTROL_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONTROL_OPTIONS, domain: { type: 'string' }, 'base-path': { type: 'string' }, api: { type: 'string' }, stage: { type: 'string' } }, 1);
    const [action] = positionals;
    const path = () => `/v1/domains/${seg(required(values.domain, 'domain'))}/mappings/${seg(required(values['base-path'], 'base-path'))}`;
    switch (action) {
      case 'list':
        return withClient('domains', values, async (client) => {
          const { domains } = await client.call<{ domains: DomainRecord[] }>('GET', '/v1/domains');
          print(values.json, { domains }, () => printTable(['DOMAIN', 'BASE PATH', 'API', 'STAGE'], domains.flatMap((d) => Object.entries(d.mappings).map(([b, m]) => [d.domain, b, m.api, m.stage]))));
          return 0;
        });
      case 'map': {
        const body = { api: required(values.api, 'api'), stage: required(values.stage, 'stage') };
        return withClient('domains', values, async (client) => {
          const d = await client.call<DomainRecord>('PUT', path(), { body, ifMatch: ifMatch(values) });
          print(values.json, d, () => console.log(`${d.domain}/${values['base-path']} -> ${body.api} ${body.stage}`));
          return 0;
        });
      }
      case 'unmap':
        return withClient('domains', values, async (client) => {
          await client.call('DELETE', path(), { ifMatch: ifMatch(values) });
          if (!values.json) console.log(`${values.domain}/${values['base-path']} unmapped`);
          return 0;
        });
      default:
        throw new UsageError(action ? `unknown action "${action}" (list, map, unmap)` : 'an action is required: list, map or unmap');
    }
  },
};
