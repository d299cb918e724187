import type { APIGatewayRequestAuthorizerEvent, APIGatewayRequestAuthorizerEventV2, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { clfTime } from '../../../integrations/function/proxyEvent.js';
import type { AuthRequest } from '../request.js';

/**
 * The events Lambda authorizers receive, shaped as API Gateway documents them (and as @types/aws-lambda
 * types them): TOKEN and REQUEST for REST APIs, the payload 2.0 REQUEST event of HTTP APIs.
 */

export function tokenEvent(token: string, methodArn: string): APIGatewayTokenAuthorizerEvent {
  return { type: 'TOKEN', authorizationToken: token, methodArn };
}

export function requestEventV1(req: AuthRequest, methodArn: string, accountId: string): APIGatewayRequestAuthorizerEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    headers[name] = raw[i + 1]!;
    (multiValueHeaders[name] ??= []).push(raw[i + 1]!);
  }
  const query = queryParameters(req.query);
  const hasHeaders = raw.length > 0;
  const userAgent = req.headers['user-agent'] ?? null;
  return {
    type: 'REQUEST',
    methodArn,
    resource: req.resourcePath,
    path: req.path,
    httpMethod: req.method,
    headers: hasHeaders ? headers : null,
    multiValueHeaders: hasHeaders ? multiValueHeaders : null,
    queryStringParameters: query ? query.last : null,
    multiValueQueryStringParameters: query ? query.all : null,
    pathParameters: nonEmpty(req.pathParameters),
    stageVariables: nonEmpty(req.stageVariables),
    requestContext: {
      resourceId: req.resourcePath,
      resourcePath: req.resourcePath,
      httpMethod: req.method,
      extendedRequestId: req.requestId,
      requestTime: clfTime(req.requestTimeEpoch),
      path: req.fullPath,
      accountId,
      protocol: 'HTTP/1.1',
      stage: req.stage,
      domainPrefix: req.domainName.split('.')[0],
      requestTimeEpoch: req.requestTimeEpoch,
      requestId: req.requestId,
      identity: {
        cognitoIdentityPoolId: null,
        accountId: null,
        cognitoIdentityId: null,
        caller: null,
        sourceIp: req.sourceIp,
        principalOrgId: null,
        accessKey: null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: null,
        userAgent,
        user: null,
        apiKey: null,
        apiKeyId: null,
        clientCert: null,
      },
      domainName: req.domainName,
      apiId: req.apiId,
      authorizer: undefined,
    },
  };
}

export function requestEventV2(req: AuthRequest, routeArn: string, identitySource: string[], accountId: string): APIGatewayRequestAuthorizerEventV2 {
  const headers: Record<string, string> = {};
  let cookies: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name === 'cookie') cookies = cookies.concat(value.split(/;\s*/).filter(Boolean));
    else headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const query = queryParameters(req.query);
  const joined: Record<string, string> = {};
  if (query) for (const [k, v] of Object.entries(query.all)) joined[k] = v.join(',');
  const event: APIGatewayRequestAuthorizerEventV2 = {
    version: '2.0',
    type: 'REQUEST',
    routeArn,
    identitySource,
    routeKey: req.routeKey,
    rawPath: req.fullPath,
    rawQueryString: req.query,
    cookies,
    headers,
    requestContext: {
      accountId,
      apiId: req.apiId,
      domainName: req.domainName,
      domainPrefix: req.domainName.split('.')[0]!,
      http: { method: req.method, path: req.fullPath, protocol: 'HTTP/1.1', sourceIp: req.sourceIp, userAgent: req.headers['user-agent'] ?? '' },
      requestId: req.requestId,
      routeKey: req.routeKey,
      stage: req.stage,
      time: clfTime(req.requestTimeEpoch),
      timeEpoch: req.requestTimeEpoch,
    },
  };
  if (query) event.queryStringParameters = joined;
  const pathParameters = nonEmpty(req.pathParameters);
  if (pathParameters) event.pathParameters = pathParameters;
  const stageVariables = nonEmpty(req.stageVariables);
  if (stageVariables) event.stageVariables = stageVariables;
  return event;
}

function queryParameters(query: string): { last: Record<string, string>; all: Record<string, string[]> } | null {
  if (!query) return null;
  const last: Record<string, string> = {};
  const all: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    last[k] = v;
    (all[k] ??= []).push(v);
  }
  return Object.keys(last).length ? { last, all } : null;
}

function nonEmpty(o: Readonly<Record<string, string>> | null): Record<string, string> | null {
  if (!o) return null;
  for (const _ in o) return { ...o };
  return null;
}
