import type { APIGatewayRequestAuthorizerEvent, APIGatewayRequestAuthorizerEventV2, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { clfTime } from '../../../observe/clfTime.js';
import { domainPrefix, identityV1 } from '../../../lambda/eventParts.js';
import { headerMaps, joinedMaps, queryMaps } from '../../../http/valueMaps.js';
import type { AuthRequest } from '../authRequest.js';

/**
 * The events Lambda authorizers receive, shaped as API Gateway documents them (and as @types/aws-lambda
 * types them): TOKEN and REQUEST for REST APIs, the payload 2.0 REQUEST event of HTTP APIs.
 */

export function tokenEvent(token: string, methodArn: string): APIGatewayTokenAuthorizerEvent {
  return { type: 'TOKEN', authorizationToken: token, methodArn };
}

export function requestEventV1(req: AuthRequest, methodArn: string, accountId: string): APIGatewayRequestAuthorizerEvent {
  const h = headerMaps(req.rawHeaders);
  const query = queryMaps(req.query);
  const hasHeaders = req.rawHeaders.length > 0;
  const userAgent = req.headers['user-agent'] ?? null;
  return {
    type: 'REQUEST',
    methodArn,
    resource: req.resourcePath,
    path: req.path,
    httpMethod: req.method,
    headers: hasHeaders ? h.single : null,
    multiValueHeaders: hasHeaders ? h.multi : null,
    queryStringParameters: query ? query.single : null,
    multiValueQueryStringParameters: query ? query.multi : null,
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
      domainPrefix: domainPrefix(req.domainName),
      requestTimeEpoch: req.requestTimeEpoch,
      requestId: req.requestId,
      identity: identityV1(req.sourceIp, userAgent, null, null),
      domainName: req.domainName,
      apiId: req.apiId,
      authorizer: undefined,
    },
  };
}

export function requestEventV2(req: AuthRequest, routeArn: string, identitySource: string[], accountId: string): APIGatewayRequestAuthorizerEventV2 {
  const joined = joinedMaps(req.rawHeaders, req.query);
  const headers = joined.headers;
  const cookies = joined.cookies ?? [];
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
      domainPrefix: domainPrefix(req.domainName),
      http: { method: req.method, path: req.fullPath, protocol: 'HTTP/1.1', sourceIp: req.sourceIp, userAgent: req.headers['user-agent'] ?? '' },
      requestId: req.requestId,
      routeKey: req.routeKey,
      stage: req.stage,
      time: clfTime(req.requestTimeEpoch),
      timeEpoch: req.requestTimeEpoch,
    },
  };
  if (joined.query) event.queryStringParameters = joined.query;
  const pathParameters = nonEmpty(req.pathParameters);
  if (pathParameters) event.pathParameters = pathParameters;
  const stageVariables = nonEmpty(req.stageVariables);
  if (stageVariables) event.stageVariables = stageVariables;
  return event;
}

function nonEmpty(o: Readonly<Record<string, string>> | null): Record<string, string> | null {
  if (!o) return null;
  for (const _ in o) return { ...o };
  return null;
}
