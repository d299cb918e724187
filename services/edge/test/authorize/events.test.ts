import { describe, expect, it } from 'vitest';
import { requestEventV1, requestEventV2, tokenEvent } from '../../src/services/authorization/lambda/events.js';
import type { AuthRequest } from '../../src/services/authorization/authRequest.js';
import { identityValue, parseIdentitySource } from '../../src/services/authorization/identity.js';

/**
 * The events are compared with the examples in API Gateway's developer guide ("Input to an API Gateway
 * Lambda authorizer", REST and HTTP APIs), request for request.
 */
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request';

const docsRequest: AuthRequest = {
  requestId: '9a9a9a9a-0000-4000-8000-000000000000',
  method: 'GET',
  path: '/request',
  fullPath: '/test/request',
  resourcePath: '/request',
  routeKey: 'GET /request',
  headers: { 'x-amz-date': '20170718T062915Z', accept: '*/*', headerauth1: 'headerValue1', 'user-agent': 'PostmanRuntime/2.4.5', cookie: 'c1=v1; c2=v2' },
  rawHeaders: ['x-amz-date', '20170718T062915Z', 'accept', '*/*', 'headerauth1', 'headerValue1', 'user-agent', 'PostmanRuntime/2.4.5', 'cookie', 'c1=v1; c2=v2'],
  query: 'QueryString1=queryValue1',
  pathParameters: {},
  apiId: 'abcdef123',
  stage: 'test',
  stageVariables: { StageVar1: 'stageValue1' },
  sourceIp: '203.0.113.7',
  domainName: 'abcdef123.execute-api.us-east-1.amazonaws.com',
  requestTimeEpoch: Date.UTC(2017, 6, 18, 6, 29, 15),
};

describe('authorizer events', () => {
  it('TOKEN: exactly the three documented fields', () => {
    expect(tokenEvent('allow', METHOD_ARN)).toEqual({ type: 'TOKEN', authorizationToken: 'allow', methodArn: METHOD_ARN });
  });

  it('REQUEST (1.0): the documented fields and values', () => {
    const e = requestEventV1(docsRequest, METHOD_ARN, '123456789012');
    expect(Object.keys(e).sort()).toEqual(
      ['type', 'methodArn', 'resource', 'path', 'httpMethod', 'headers', 'multiValueHeaders', 'queryStringParameters', 'multiValueQueryStringParameters', 'pathParameters', 'stageVariables', 'requestContext'].sort(),
    );
    expect(e).toMatchObject({
      type: 'REQUEST',
      methodArn: METHOD_ARN,
      resource: '/request',
      path: '/request',
      httpMethod: 'GET',
      // AWS keeps the client's case (HeaderAuth1); uWS keeps none, so names come in canonical Title-Case.
      headers: { Headerauth1: 'headerValue1', Accept: '*/*' },
      multiValueHeaders: { Headerauth1: ['headerValue1'] },
      queryStringParameters: { QueryString1: 'queryValue1' },
      multiValueQueryStringParameters: { QueryString1: ['queryValue1'] },
      pathParameters: null, // API Gateway sends null, not {}, when a route has none
      stageVariables: { StageVar1: 'stageValue1' },
      requestContext: {
        path: '/test/request',
        accountId: '123456789012',
        stage: 'test',
        requestId: docsRequest.requestId,
        identity: { sourceIp: '203.0.113.7', userAgent: 'PostmanRuntime/2.4.5', apiKey: null, cognitoIdentityId: null },
        resourcePath: '/request',
        httpMethod: 'GET',
        apiId: 'abcdef123',
        domainName: 'abcdef123.execute-api.us-east-1.amazonaws.com',
        domainPrefix: 'abcdef123',
        requestTime: '18/Jul/2017:06:29:15 +0000',
        requestTimeEpoch: docsRequest.requestTimeEpoch,
        protocol: 'HTTP/1.1',
      },
    });
    const none = requestEventV1({ ...docsRequest, rawHeaders: [], headers: {}, query: '', stageVariables: {} }, METHOD_ARN, '123456789012');
    expect(none).toMatchObject({ headers: null, multiValueHeaders: null, queryStringParameters: null, multiValueQueryStringParameters: null, stageVariables: null });
  });

  it('REQUEST (2.0): the documented fields and values', () => {
    const e = requestEventV2({ ...docsRequest, query: 'parameter1=value1&parameter1=value2&parameter2=value', pathParameters: { parameter1: 'value1' } }, METHOD_ARN, ['user1', '123'], '123456789012');
    expect(e).toEqual({
      version: '2.0',
      type: 'REQUEST',
      routeArn: METHOD_ARN,
      identitySource: ['user1', '123'],
      routeKey: 'GET /request',
      rawPath: '/test/request',
      rawQueryString: 'parameter1=value1&parameter1=value2&parameter2=value',
      cookies: ['c1=v1', 'c2=v2'],
      headers: { 'x-amz-date': '20170718T062915Z', accept: '*/*', headerauth1: 'headerValue1', 'user-agent': 'PostmanRuntime/2.4.5' },
      queryStringParameters: { parameter1: 'value1,value2', parameter2: 'value' },
      requestContext: {
        accountId: '123456789012',
        apiId: 'abcdef123',
        domainName: 'abcdef123.execute-api.us-east-1.amazonaws.com',
        domainPrefix: 'abcdef123',
        http: { method: 'GET', path: '/test/request', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'PostmanRuntime/2.4.5' },
        requestId: docsRequest.requestId,
        routeKey: 'GET /request',
        stage: 'test',
        time: '18/Jul/2017:06:29:15 +0000',
        timeEpoch: docsRequest.requestTimeEpoch,
      },
      pathParameters: { parameter1: 'value1' },
      stageVariables: { StageVar1: 'stageValue1' },
    });
  });

  it('identity sources read headers (any case), query parameters, stage and context variables', () => {
    const v = (s: string) => identityValue(parseIdentitySource(s), docsRequest);
    expect(v('method.request.header.HeaderAuth1')).toBe('headerValue1');
    expect(v('$request.header.headerauth1')).toBe('headerValue1');
    expect(v('method.request.querystring.QueryString1')).toBe('queryValue1');
    expect(v('$request.querystring.querystring1')).toBeUndefined(); // query names are case-sensitive
    expect(v('stageVariables.StageVar1')).toBe('stageValue1');
    expect(v('$stageVariables.StageVar1')).toBe('stageValue1');
    expect(v('context.identity.sourceIp')).toBe('203.0.113.7');
    expect(v('$context.routeKey')).toBe('GET /request');
    expect(v('method.request.header.Missing')).toBeUndefined();
    expect(() => parseIdentitySource('context.requestId')).toThrow(/not supported/);
  });
});
