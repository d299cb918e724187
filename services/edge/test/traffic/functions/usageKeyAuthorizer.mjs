// A TOKEN authorizer as written for AWS with apiKeySource AUTHORIZER: the caller's bearer token maps to
// the API key the usage plan meters (here the token is the key value itself; "Bearer nokey" maps to none).
export const usageKey = async (event) => {
  const token = event.authorizationToken.slice('Bearer '.length);
  if (token === 'refuse') throw new Error('Unauthorized');
  // Every method of the API: the grant is cached per token and reused for the other routes.
  const everything = `${event.methodArn.split('/')[0]}/*`;
  return {
    principalId: `caller-${token.slice(0, 6)}`,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: everything }] },
    ...(token === 'nokey' ? {} : { usageIdentifierKey: token }),
  };
};
