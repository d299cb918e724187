import type { RedisClient } from '@turnpike/redis';
import { CredentialStore, lookupConnection } from '@turnpike/edge';
import type { AdminTokenStore, ApiKeyStore, PlanApiStage, QuotaSettings, RedisKeys, ThrottleLimits } from '@turnpike/redis';
import { ApiError, objectBody, reply, stringField, type Router } from './http.js';

/**
 * API keys, usage plans and usage (`keys` area), SigV4 credentials for @connections (`credentials`),
 * WebSocket connections (`connections`) and admin tokens (`tokens`): the existing stores, over HTTP.
 */
export function accessRoutes(router: Router, deps: { redis: RedisClient; keys: RedisKeys; apiKeys: ApiKeyStore; tokens: AdminTokenStore }): void {
  const { apiKeys, tokens } = deps;
  const credentials = new CredentialStore(deps.redis, deps.keys);
  router
    .add('GET', '/v1/keys', 'keys', async () => ({ keys: await apiKeys.listKeys() }))
    .add('POST', '/v1/keys', 'keys', async (call) => {
      const b = objectBody(call);
      if (b.enabled !== undefined && typeof b.enabled !== 'boolean') throw new ApiError(400, 'invalid', '"enabled" must be true or false');
      return reply(201, await apiKeys.createKey({ name: stringField(b, 'name', true), value: stringField(b, 'value'), enabled: b.enabled as boolean | undefined }));
    })
    .add('GET', '/v1/keys/{id}', 'keys', (call) => apiKeys.getKey(call.params.id!))
    .add('PATCH', '/v1/keys/{id}', 'keys', (call) => {
      const b = objectBody(call);
      if (typeof b.enabled !== 'boolean') throw new ApiError(400, 'invalid', '"enabled" (true or false) is required');
      return apiKeys.setKeyEnabled(call.params.id!, b.enabled);
    })
    .add('GET', '/v1/plans', 'keys', async () => ({ plans: await apiKeys.listPlans() }))
    .add('POST', '/v1/plans', 'keys', async (call) => {
      const b = objectBody(call);
      if (!Array.isArray(b.apiStages)) throw new ApiError(400, 'invalid', '"apiStages" must be an array of { apiId, stage }');
      const plan = await apiKeys.createPlan({
        name: stringField(b, 'name', true),
        throttle: b.throttle as ThrottleLimits | undefined,
        quota: b.quota as QuotaSettings | undefined,
        apiStages: b.apiStages as PlanApiStage[],
      });
      return reply(201, plan);
    })
    .add('GET', '/v1/plans/{id}', 'keys', (call) => apiKeys.getPlan(call.params.id!))
    .add('POST', '/v1/plans/{id}/keys', 'keys', (call) => apiKeys.attachKey(call.params.id!, stringField(objectBody(call), 'keyId', true)))
    .add('GET', '/v1/usage', 'keys', async (call) => {
      const q = call.query;
      const keyId = q.get('keyId');
      const from = q.get('from');
      const to = q.get('to');
      if (!keyId || !from || !to) throw new ApiError(400, 'invalid', 'keyId, from and to (YYYY-MM-DD) are required query parameters');
      return { keyId, from, to, usage: await apiKeys.getUsage(keyId, from, to) };
    })

    .add('GET', '/v1/credentials', 'credentials', async () => ({ credentials: await credentials.list() }))
    .add('POST', '/v1/credentials', 'credentials', async (call) => {
      const b = call.body === undefined ? {} : objectBody(call);
      return reply(201, await credentials.create(stringField(b, 'description') ?? ''));
    })
    .add('DELETE', '/v1/credentials/{id}', 'credentials', async (call) => {
      if (!(await credentials.revoke(call.params.id!))) throw new ApiError(404, 'not_found', `no access key ${call.params.id}`);
      return reply(204);
    })

    .add('GET', '/v1/connections/{id}', 'connections', async (call) => {
      const c = await lookupConnection(deps.redis, deps.keys, call.params.id!);
      if (c === null) throw new ApiError(404, 'not_found', `no connection ${call.params.id}`);
      return { connectionId: call.params.id, ...c };
    })

    .add('GET', '/v1/tokens', 'tokens', async () => ({ tokens: await tokens.list() }))
    .add('POST', '/v1/tokens', 'tokens', async (call) => {
      const b = objectBody(call);
      if (!Array.isArray(b.scopes) || !b.scopes.every((s) => typeof s === 'string')) throw new ApiError(400, 'invalid', '"scopes" must be an array of strings');
      return reply(201, await tokens.create({ name: stringField(b, 'name', true), scopes: b.scopes as string[], by: call.by }));
    })
    .add('DELETE', '/v1/tokens/{id}', 'tokens', async (call) => {
      await tokens.revoke(call.params.id!);
      return reply(204);
    });
}
