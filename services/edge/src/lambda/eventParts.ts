import type { APIGatewayEventIdentity } from 'aws-lambda';

/**
 * The parts every API Gateway event for Lambda shares (proxy events of the function integration, REQUEST
 * authorizer events), built in one place so both give a handler the same fields.
 */

/** `requestContext.identity` of a REST (payload 1.0) event: only the caller's address, agent and API key are known. */
export function identityV1(sourceIp: string, userAgent: string | null, apiKey: string | null, apiKeyId: string | null): APIGatewayEventIdentity {
  return {
    accessKey: null,
    accountId: null,
    apiKey,
    apiKeyId,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent,
    userArn: null,
  };
}

/** `requestContext.domainPrefix`: the first label of the Host. */
export function domainPrefix(host: string): string {
  const dot = host.indexOf('.');
  return dot < 0 ? host : host.slice(0, dot);
}
