import { seg } from '@turnpike/control';
import type { StageRecord } from '@turnpike/redis';
import { parse, type Command } from '../command.js';
import { CONTROL_HELP, CONTROL_OPTIONS, ifMatch, print, required, withClient } from './controlAccess.js';

export const command: Command = {
  help: `turnpike rollback --api NAME --stage STAGE [--to DEPLOYMENT]

Points STAGE back at DEPLOYMENT, or at the deployment it served before the current one, in one step.
${CONTROL_HELP}`,
  async run(argv) {
    const { values } = parse(argv, { ...CONTROL_OPTIONS, api: { type: 'string' }, stage: { type: 'string' }, to: { type: 'string' } }, 0);
    const api = required(values.api, 'api');
    const stage = required(values.stage, 'stage');
    return withClient('rollback', values, async (client) => {
      const s = await client.call<StageRecord>('POST', `/v1/apis/${seg(api)}/stages/${seg(stage)}/rollback`, { body: values.to ? { deploymentId: values.to } : {}, ifMatch: ifMatch(values) });
      print(values.json, s, () => console.log(`stage ${stage} of ${api} now serves ${s.deploymentId} (version ${s.version})`));
      return 0;
    });
  },
};
