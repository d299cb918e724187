// Functions for the tracing tests, written as for AWS Lambda.

/** TOKEN authorizer: `Bearer allow-...` is allowed as user-42, anything else is refused. */
export const authorizer = async (event) => {
  if (!event.authorizationToken.startsWith('Bearer allow-')) throw new Error('Unauthorized');
  return {
    principalId: 'user-42',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
    context: { tenant: 'acme' },
  };
};

/** Shows the trace context and the caller it was invoked with. */
export const echo = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ traceparent: event.headers.traceparent ?? null, principalId: event.requestContext.authorizer?.principalId ?? null }),
});
