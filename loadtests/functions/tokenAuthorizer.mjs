// The bench's TOKEN authorizer: allows any `Bearer ...` token for every method of the API, as a typical
// authorizer does so that its cached policy serves all routes.
export const handler = async (event) => {
  if (!event.authorizationToken.startsWith('Bearer ')) throw new Error('Unauthorized');
  const [arnHead, stage] = event.methodArn.split('/');
  return {
    principalId: event.authorizationToken.slice(7),
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arnHead}/${stage}/*` }] },
    context: { tenant: 'bench' },
  };
};
