import { seg } from '@turnpike/control';
import type { StageHistoryEntry, StageRecord } from '@turnpike/redis';
import { UsageError, parse, type Command } from '../command.js';
import { printTable } from './storeAccess.js';
import { CONTROL_HELP, CONTROL_OPTIONS, ifMatch, print, required, variables, withClient } from './controlAccess.js';

export const command: Command = {
  help: `turnpike stages list --api NAME
turnpike stages show --api NAME --stage STAGE
turnpike stages update --api NAME --stage STAGE [--variable K=V ...] [--unset K ...] [--throttle RATE,BURST | --no-throttle]
turnpike stages history --api NAME --stage STAGE
turnpike stages delete --api NAME --stage STAGE

A stage points at one deployment and holds stage variables and a throttle; history lists every change.
${CONTROL_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      ...CONTROL_OPTIONS,
      api: { type: 'string' },
      stage: { type: 'string' },
      variable: { type: 'string', multiple: true },
      unset: { type: 'string', multiple: true },
      throttle: { type: 'string' },
      'no-throttle': { type: 'boolean' },
    }, 1);
    const [action] = positionals;
    const api = seg(required(values.api, 'api'));
    const path = () => `/v1/apis/${api}/stages/${seg(required(values.stage, 'stage'))}`;
    const human = (s: StageRecord) => () => console.log(`stage ${s.name} of ${s.api}: deployment ${s.deploymentId}, version ${s.version}${s.canary ? `, canary ${s.canary.deploymentId} at ${s.canary.percent}%` : ''}\nvariables: ${JSON.stringify(s.variables)}`);
    switch (action) {
      case 'list':
        return withClient('stages', values, async (client) => {
          const { stages } = await client.call<{ stages: StageRecord[] }>('GET', `/v1/apis/${api}/stages`);
          print(values.json, { stages }, () => printTable(['STAGE', 'DEPLOYMENT', 'CANARY', 'VERSION', 'UPDATED'], stages.map((s) => [s.name, s.deploymentId, s.canary ? `${s.canary.deploymentId} ${s.canary.percent}%` : '-', s.version, s.updatedAt])));
          return 0;
        });
      case 'show':
        return withClient('stages', values, async (client) => {
          const s = await client.call<StageRecord>('GET', path());
          print(values.json, s, human(s));
          return 0;
        });
      case 'update': {
        let throttle: { rateLimit: number; burstLimit: number } | null | undefined;
        if (values.throttle !== undefined) {
          const [rate, burst] = values.throttle.split(',').map(Number);
          if (!(rate! > 0) || !Number.isInteger(burst) || burst! < 0) throw new UsageError('--throttle takes RATE,BURST (e.g. 100,200)');
          throttle = { rateLimit: rate!, burstLimit: burst! };
        } else if (values['no-throttle']) throttle = null;
        const body = { variables: variables(values.variable), unset: values.unset, throttle };
        if (body.variables === undefined && body.unset === undefined && throttle === undefined) throw new UsageError('nothing to update: give --variable, --unset, --throttle or --no-throttle');
        return withClient('stages', values, async (client) => {
          const s = await client.call<StageRecord>('PATCH', path(), { body, ifMatch: ifMatch(values) });
          print(values.json, s, human(s));
          return 0;
        });
      }
      case 'history':
        return withClient('stages', values, async (client) => {
          const { history } = await client.call<{ history: StageHistoryEntry[] }>('GET', `${path()}/history`);
          print(values.json, { history }, () => printTable(['VERSION', 'ACTION', 'DEPLOYMENT', 'CANARY', 'AT', 'BY'], history.map((h) => [h.version, h.action, h.deploymentId, h.canaryDeploymentId ?? '-', h.at, h.by])));
          return 0;
        });
      case 'delete':
        return withClient('stages', values, async (client) => {
          await client.call('DELETE', path(), { ifMatch: ifMatch(values) });
          if (!values.json) console.log(`stage ${values.stage} deleted`);
          return 0;
        });
      default:
        throw new UsageError(action ? `unknown action "${action}" (list, show, update, history, delete)` : 'an action is required: list, show, update, history or delete');
    }
  },
};
