import { seg } from '@turnpike/control';
import type { DeploymentRecord, StageRecord } from '@turnpike/redis';
import { parse, type Command } from '../command.js';
import { CONTROL_HELP, CONTROL_OPTIONS, ifMatch, print, required, withClient } from './controlAccess.js';

export const command: Command = {
  help: `turnpike deploy --api NAME --stage STAGE [--description TEXT]

Freezes the API's current definition into a new, immutable deployment and points STAGE at it (creating
the stage, with the variables the definition gives it, if new). Every edge following the control plane
serves it within a second; requests in flight finish on the routes they started with.
${CONTROL_HELP}`,
  async run(argv) {
    const { values } = parse(argv, { ...CONTROL_OPTIONS, api: { type: 'string' }, stage: { type: 'string' }, description: { type: 'string' } }, 0);
    const api = required(values.api, 'api');
    const stage = required(values.stage, 'stage');
    return withClient('deploy', values, async (client) => {
      const r = await client.call<{ deployment: DeploymentRecord; stage: StageRecord }>('POST', `/v1/apis/${seg(api)}/deployments`, { body: { stage, description: values.description }, ifMatch: ifMatch(values) });
      print(values.json, r, () => console.log(`deployed ${api} as ${r.deployment.id} (sha256 ${r.deployment.hash.slice(0, 12)}) to stage ${stage} (version ${r.stage.version})`));
      return 0;
    });
  },
};
