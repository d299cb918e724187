import { DOMAIN_NAME, MAPPING_BASE_PATH, STAGE_NAME, ThrottleSettings } from '@turnpike/config';
import { diffDefinitions, type ControlStore } from '@turnpike/redis';
import { definitionFrom } from './definitions.js';
import { ApiError, objectBody, reply, stringField, variablesField, type Call, type Router } from './http.js';

const API_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

function apiName(call: Call): string {
  const n = call.params.api!;
  if (!API_NAME.test(n)) throw new ApiError(400, 'invalid', `"${n}" is not an API name (letters, digits, ., - and _)`);
  return n;
}

function stageName(call: Call): string {
  const s = call.params.stage!;
  if (!STAGE_NAME.test(s)) throw new ApiError(400, 'invalid', `"${s}" is not a stage name ($default or letters, digits, - and _)`);
  return s;
}

const change = (call: Call) => ({ by: call.by, expectedVersion: call.expectedVersion });

/** APIs, deployments, stages, canaries and domains: the `apis` scope area. */
export function apiRoutes(router: Router, store: ControlStore): void {
  router
    .add('GET', '/v1/revision', 'apis', async () => ({ revision: await store.revision() }))
    .add('GET', '/v1/apis', 'apis', async () => ({ apis: await store.listApis() }))
    .add('GET', '/v1/apis/{api}', 'apis', (call) => store.getApi(apiName(call)))
    .add('PUT', '/v1/apis/{api}', 'apis', async (call) => {
      const name = apiName(call);
      const record = await store.putApi(name, definitionFrom(name, objectBody(call)), change(call));
      return reply(record.version === 1 ? 201 : 200, record);
    })
    .add('DELETE', '/v1/apis/{api}', 'apis', async (call) => {
      await store.deleteApi(apiName(call), change(call));
      return reply(204);
    })

    .add('GET', '/v1/apis/{api}/deployments', 'apis', async (call) => ({ deployments: await store.listDeployments(apiName(call)) }))
    .add('POST', '/v1/apis/{api}/deployments', 'apis', async (call) => {
      const api = apiName(call);
      const body = call.body === undefined ? {} : objectBody(call);
      const stage = stringField(body, 'stage');
      const description = stringField(body, 'description');
      if (stage === undefined) return reply(201, { deployment: await store.createDeployment(api, { description, by: call.by }) });
      if (!STAGE_NAME.test(stage)) throw new ApiError(400, 'invalid', `"${stage}" is not a stage name`);
      return reply(201, await store.deploy(api, stage, { ...change(call), description }));
    })
    .add('GET', '/v1/apis/{api}/deployments/{id}', 'apis', (call) => store.getDeployment(apiName(call), call.params.id!))
    .add('GET', '/v1/apis/{api}/deployments/{id}/diff/{other}', 'apis', async (call) => {
      const api = apiName(call);
      const [from, to] = await Promise.all([store.getDeployment(api, call.params.id!), store.getDeployment(api, call.params.other!)]);
      return { from: from.id, to: to.id, changes: diffDefinitions(from.definition, to.definition) };
    })

    .add('GET', '/v1/apis/{api}/stages', 'apis', async (call) => ({ stages: await store.listStages(apiName(call)) }))
    .add('GET', '/v1/apis/{api}/stages/{stage}', 'apis', (call) => store.getStage(apiName(call), stageName(call)))
    .add('PATCH', '/v1/apis/{api}/stages/{stage}', 'apis', (call) => {
      const body = objectBody(call);
      const unset = body.unset;
      if (unset !== undefined && !(Array.isArray(unset) && unset.every((u) => typeof u === 'string'))) throw new ApiError(400, 'invalid', '"unset" must be an array of variable names');
      let throttle;
      if (body.throttle !== undefined && body.throttle !== null) {
        const t = ThrottleSettings.safeParse(body.throttle);
        if (!t.success) throw new ApiError(400, 'invalid', `throttle: ${t.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
        throttle = t.data;
      } else if (body.throttle === null) throttle = null;
      return store.updateStage(apiName(call), stageName(call), { variables: variablesField(body, 'variables'), unset: unset as string[] | undefined, throttle }, change(call));
    })
    .add('DELETE', '/v1/apis/{api}/stages/{stage}', 'apis', async (call) => {
      await store.deleteStage(apiName(call), stageName(call), change(call));
      return reply(204);
    })
    .add('GET', '/v1/apis/{api}/stages/{stage}/history', 'apis', async (call) => ({ history: await store.stageHistory(apiName(call), stageName(call)) }))
    .add('POST', '/v1/apis/{api}/stages/{stage}/rollback', 'apis', (call) => {
      const body = call.body === undefined ? {} : objectBody(call);
      return store.rollback(apiName(call), stageName(call), { ...change(call), to: stringField(body, 'deploymentId') });
    })
    .add('PUT', '/v1/apis/{api}/stages/{stage}/canary', 'apis', (call) => {
      const body = objectBody(call);
      const percent = body.percent;
      if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) throw new ApiError(400, 'invalid', '"percent" must be a number from 0 to 100');
      const canary = { deploymentId: stringField(body, 'deploymentId', true), percent, variables: variablesField(body, 'variables') ?? {} };
      return store.putCanary(apiName(call), stageName(call), canary, change(call));
    })
    .add('POST', '/v1/apis/{api}/stages/{stage}/canary/promote', 'apis', (call) => store.promoteCanary(apiName(call), stageName(call), change(call)))
    .add('DELETE', '/v1/apis/{api}/stages/{stage}/canary', 'apis', (call) => store.deleteCanary(apiName(call), stageName(call), change(call)))

    .add('GET', '/v1/domains', 'apis', async () => ({ domains: await store.listDomains() }))
    .add('GET', '/v1/domains/{domain}', 'apis', (call) => store.getDomain(domainName(call)))
    .add('PUT', '/v1/domains/{domain}/mappings/{basePath}', 'apis', (call) => {
      const body = objectBody(call);
      const stage = stringField(body, 'stage', true);
      if (!STAGE_NAME.test(stage)) throw new ApiError(400, 'invalid', `"${stage}" is not a stage name`);
      return store.putMapping(domainName(call), basePath(call), { api: stringField(body, 'api', true), stage }, change(call));
    })
    .add('DELETE', '/v1/domains/{domain}/mappings/{basePath}', 'apis', async (call) => {
      const d = await store.deleteMapping(domainName(call), basePath(call), change(call));
      return d === null ? reply(204) : d;
    });
}

function domainName(call: Call): string {
  const d = call.params.domain!;
  if (!DOMAIN_NAME.test(d)) throw new ApiError(400, 'invalid', `"${d}" is not a domain name (lower case, without port)`);
  return d;
}

function basePath(call: Call): string {
  const b = call.params.basePath!;
  if (!MAPPING_BASE_PATH.test(b)) throw new ApiError(400, 'invalid', `"${b}" is not a base path: (none) or one path segment`);
  return b;
}
