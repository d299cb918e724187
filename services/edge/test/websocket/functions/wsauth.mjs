// A REQUEST authorizer for a WebSocket $connect: the token comes from the query string.
export async function handler(event) {
  const token = event.queryStringParameters?.token;
  if (token === 'expired') throw new Error('Unauthorized');
  const effect = token === 'good' ? 'Allow' : 'Deny';
  return {
    principalId: 'alice',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: event.methodArn }] },
    context: { team: 'blue', level: 3 },
  };
}
