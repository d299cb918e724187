// Lambda authorizers written for AWS, run unchanged on Turnpike workers. Each call is recorded as one
// JSON line in RECORD_FILE so tests can count invocations across edge processes and read the events.
import { appendFileSync } from 'node:fs';

const record = (event) => appendFileSync(process.env.RECORD_FILE, JSON.stringify(event) + '\n');

const policy = (principalId, effect, resource, context) => ({
  principalId,
  policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
  context,
});

/** TOKEN: `Bearer <action>-<nonce>`; the action decides. */
export const token = async (event) => {
  record(event);
  const action = event.authorizationToken.slice('Bearer '.length).split('-')[0];
  // arn:aws:execute-api:region:account:api/stage/METHOD/path → everything for GET on this API and stage
  const [arnHead, stage] = event.methodArn.split('/');
  switch (action) {
    case 'allow':
      return policy('user-42', 'Allow', event.methodArn, { tenant: 'acme', tier: 3, admin: false });
    case 'getonly':
      return policy('user-7', 'Allow', `${arnHead}/${stage}/GET/*`, { tenant: 'globex' });
    case 'denydelete':
      return {
        principalId: 'user-9',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arnHead}/*` },
            { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [`${arnHead}/${stage}/DELETE/*`] },
          ],
        },
      };
    case 'deny':
      return policy('user-13', 'Deny', event.methodArn);
    case 'unauthorized':
      throw new Error('Unauthorized');
    case 'fail':
      throw new TypeError('cannot read the user database');
    case 'malformed':
      return { principalId: 'x', policyDocument: { Statement: 'everything' } };
    case 'slow':
      await new Promise((r) => setTimeout(r, 1500));
      return policy('late', 'Allow', event.methodArn);
    case 'gate':
      // Holds the first call until the test has sent every concurrent request.
      await new Promise((r) => setTimeout(r, 300));
      return policy('gated', 'Allow', event.methodArn, { tenant: 'initech' });
    default:
      throw new Error('Unauthorized');
  }
};

/** REQUEST (payload 1.0): identity from a header and a query parameter. */
export const request = async (event) => {
  record(event);
  if (event.queryStringParameters.team === 'none') throw new Error('Unauthorized');
  return policy(`${event.headers['X-User']}@${event.queryStringParameters.team}`, 'Allow', event.methodArn, { tenant: event.queryStringParameters.team, color: event.stageVariables.color });
};

/** HTTP API simple responses (payload 2.0). */
export const simple = async (event) => {
  record(event);
  return { isAuthorized: event.headers['x-user'] === 'good', context: { tenant: 'hooli', levels: [1, 2] } };
};

/** The integration behind authorized routes: shows what it was told about the caller. */
export const echo = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ authorizer: event.requestContext.authorizer ?? null }),
});
