// The simplest function: an async handler behind an API route (payload 1.0 or 2.0).
export const handler = async (event, context) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message: `hello from ${context.functionName}`, path: event.path ?? event.rawPath, requestId: context.awsRequestId }),
});
