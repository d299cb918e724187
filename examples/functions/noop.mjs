// A trivial function for the benchmark: the cost measured is the gateway's, not the handler's.
export const handler = async () => ({ statusCode: 200, body: 'ok' });
