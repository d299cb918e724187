import { seg } from '@turnpike/control';
import type { StageRecord } from '@turnpike/redis';
import { UsageError, parse, type Command } from '../command.js';
import { CONTROL_HELP, CONTROL_OPTIONS, ifMatch, print, required, variables, withClient } from './controlAccess.js';

export const command: Command = {
  help: `turnpike canary create --api NAME --stage STAGE --deployment ID --percent P [--variable K=V ...]
turnpike canary promote --api NAME --stage STAGE
turnpike canary delete --api NAME --stage STAGE

A canary sends P % of the stage's requests to deployment ID, with the stage's variables overridden by
--variable. Access logs ($context.isCanaryRequest) and metrics (canary="true") tell the two apart.
create also changes an existing canary's deployment, percentage or variables. promote makes the canary's
deployment and variables the stage's own and ends the canary; delete ends it.
${CONTROL_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONTROL_OPTIONS, api: { type: 'string' }, stage: { type: 'string' }, deployment: { type: 'string' }, percent: { type: 'string' }, variable: { type: 'string', multiple: true } }, 1);
    const [action] = positionals;
    const path = `/v1/apis/${seg(required(values.api, 'api'))}/stages/${seg(required(values.stage, 'stage'))}/canary`;
    const done = (s: StageRecord, what: string) => print(values.json, s, () => console.log(`stage ${s.name} of ${s.api}: ${what} (stage version ${s.version})`));
    switch (action) {
      case 'create': {
        const percent = Number(required(values.percent, 'percent'));
        if (!(percent >= 0 && percent <= 100)) throw new UsageError('--percent must be a number from 0 to 100');
        const body = { deploymentId: required(values.deployment, 'deployment'), percent, variables: variables(values.variable) ?? {} };
        return withClient('canary', values, async (client) => {
          done(await client.call<StageRecord>('PUT', path, { body, ifMatch: ifMatch(values) }), `canary ${body.deploymentId} at ${percent}%`);
          return 0;
        });
      }
      case 'promote':
        return withClient('canary', values, async (client) => {
          const s = await client.call<StageRecord>('POST', `${path}/promote`, { ifMatch: ifMatch(values) });
          done(s, `canary promoted: serving ${s.deploymentId}`);
          return 0;
        });
      case 'delete':
        return withClient('canary', values, async (client) => {
          const s = await client.call<StageRecord>('DELETE', path, { ifMatch: ifMatch(values) });
          done(s, `canary deleted: serving ${s.deploymentId}`);
          return 0;
        });
      default:
        throw new UsageError(action ? `unknown action "${action}" (create, promote, delete)` : 'an action is required: create, promote or delete');
    }
  },
};
