// Functions behind the Redis outage test: a proxy-integration handler and a TOKEN authorizer that
// allows every method of the API.
export const hello = async () => ({ statusCode: 200, body: 'fn' });

export const allow = async (event) => ({
  principalId: 'caller',
  policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${event.methodArn.split('/')[0]}/*` }] },
});
