// A WebSocket route handler as it would run on AWS Lambda: records every event, refuses or subscribes
// on $connect from the query string, and pushes to its own connection through the management API.
import { appendFileSync } from 'node:fs';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';

export async function handler(event) {
  const rc = event.requestContext;
  appendFileSync(process.env.RECORD_FILE, JSON.stringify(event) + '\n');
  if (rc.eventType === 'CONNECT') {
    const q = event.queryStringParameters ?? {};
    if (q.deny) return { statusCode: 401, body: 'denied by function' };
    return { statusCode: 200, subscribe: q.room ? [q.room] : undefined };
  }
  if (rc.eventType === 'DISCONNECT') return { statusCode: 200 };
  if (event.isBase64Encoded) return { statusCode: 200, body: `default: ${event.body}` };
  const msg = JSON.parse(event.body);
  switch (msg.action) {
    case 'event':
      return { statusCode: 200, body: JSON.stringify(event) };
    case 'push-env':
      // Endpoint, credentials and region from the environment, as the SDK reads them.
      await new ApiGatewayManagementApiClient({}).send(new PostToConnectionCommand({ ConnectionId: rc.connectionId, Data: 'from-env' }));
      return { statusCode: 200 };
    case 'push-domain':
      // The endpoint built from the event, as most published handlers do (with http: here, no TLS in tests).
      await new ApiGatewayManagementApiClient({ endpoint: `http://${rc.domainName}/${rc.stage}` }).send(new PostToConnectionCommand({ ConnectionId: rc.connectionId, Data: 'from-domain' }));
      return { statusCode: 200 };
    case 'throw':
      throw new Error('boom');
    default:
      return { statusCode: 200, body: `default: ${event.body}` };
  }
}
