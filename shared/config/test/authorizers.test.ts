import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, assert, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '@turnpike/config';
import { issuesOf } from './issues.js';

const dir = mkdtempSync(join(tmpdir(), 'tp-authz-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('authorizers in a Turnpike config', () => {
  it('fill in AWS defaults and merge top-level authorizers into every API', () => {
    const c = parseConfig(`
authorizers:
  tok: { type: token, function: auth }
  jwt: { type: jwt, issuer: "https://idp.example", audiences: [api] }
apis:
  - name: a
    authorizers:
      req: { type: request, function: auth, identitySource: "method.request.header.X-User, method.request.querystring.team" }
      tok: { type: token, function: other, resultTtlSeconds: 0 }
    routes:
      GET /x: { authorizer: tok, integration: { type: mock } }
      GET /y: { authorizer: jwt, authorizationScopes: [read], integration: { type: mock } }
  - name: b
    basePath: /b
    routes:
      GET /x: { authorizer: tok, integration: { type: mock } }
`);
    const [a, b] = c.apis;
    expect(a!.authorizers.tok).toMatchObject({ function: 'other', resultTtlSeconds: 0 });
    expect(b!.authorizers.tok).toEqual({ type: 'token', function: 'auth', identitySource: 'method.request.header.Authorization', resultTtlSeconds: 300, timeoutMs: 10_000 });
    expect(a!.authorizers.req).toMatchObject({ identitySource: ['method.request.header.X-User', 'method.request.querystring.team'], payloadFormatVersion: '1.0', enableSimpleResponses: false });
    expect(b!.authorizers.jwt).toMatchObject({ algorithms: ['RS256'], clockSkewSeconds: 30, identitySource: '$request.header.Authorization' });
    expect(a!.routes['GET /y']?.authorizationScopes).toEqual(['read']);
  });

  it('report every bad field with its path and line', () => {
    const issues = issuesOf(() =>
      parseConfig(`authorizers:
  t1: { type: token, function: auth, resultTtlSeconds: 3601 }
  t2: { type: token, function: auth, identitySource: method.request.querystring.t }
  t3: { type: token, function: auth, identityValidationExpression: "([" }
  r1: { type: request, function: auth }
  r2: { type: request, function: auth, identitySource: "body.user", resultTtlSeconds: 0 }
  r3: { type: request, function: auth, identitySource: [$request.header.A], enableSimpleResponses: true }
  j1: { type: jwt, issuer: "https://idp.example", audiences: [x], algorithms: [HS256] }
  j2: { type: jwt, issuer: "https://idp.example", audiences: [x], algorithms: [none] }
  j3: { type: jwt, issuer: not-a-url, audiences: [] }
apis:
  - name: a
    routes:
      GET /x: { authorizer: missing, integration: { type: mock } }
      GET /y: { authorizer: t1, authorizationScopes: [read], integration: { type: mock } }
`),
    );
    const at = (path: string) => issues.find((i) => i.path === path);
    expect(at('authorizers.t1.resultTtlSeconds')).toMatchObject({ line: 2, message: 'at most 3600 seconds' });
    expect(at('authorizers.t2.identitySource')?.message).toMatch(/from a header/);
    expect(at('authorizers.t3.identityValidationExpression')?.message).toMatch(/not a valid regular expression/);
    expect(at('authorizers.r1.identitySource')?.message).toMatch(/at least one identity source/);
    expect(at('authorizers.r2.identitySource[0]')?.message).toMatch(/an identity source is/);
    expect(at('authorizers.r3.enableSimpleResponses')?.message).toMatch(/payloadFormatVersion "2.0"/);
    expect(at('authorizers.j1.algorithms[0]')?.message).toMatch(/never none or HS/);
    expect(at('authorizers.j2.algorithms[0]')?.message).toMatch(/never none or HS/);
    expect(at('authorizers.j3.issuer')).toBeDefined();
    expect(at('authorizers.j3.audiences')?.message).toMatch(/at least one audience/);
    // Route references are checked once the schema passes, so fix the authorizers and look again.
    const refs = issuesOf(() =>
      parseConfig(`authorizers:
  t1: { type: token, function: auth }
apis:
  - name: a
    routes:
      GET /x: { authorizer: missing, integration: { type: mock } }
      GET /y: { authorizer: t1, authorizationScopes: [read], integration: { type: mock } }
`),
    );
    expect(refs.find((i) => i.path === 'apis[0].routes.GET /x.authorizer')).toMatchObject({ line: 6, message: expect.stringMatching(/no authorizer named "missing"/) });
    expect(refs.find((i) => i.path === 'apis[0].routes.GET /y.authorizationScopes')?.message).toMatch(/jwt and cognito_user_pools authorizers only/);
  });
});

describe('authorizers from OpenAPI securitySchemes', () => {
  const lambdaUri = (fn: string) => `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:${fn}/invocations`;

  it('map token, request and jwt authorizers, and the routes that name them', () => {
    const file = join(dir, 'api.yaml');
    writeFileSync(
      file,
      `openapi: 3.0.1
info: { title: pets }
components:
  securitySchemes:
    tokenAuth:
      type: apiKey
      name: X-Token
      in: header
      x-amazon-apigateway-authtype: custom
      x-amazon-apigateway-authorizer:
        type: token
        authorizerUri: ${lambdaUri('tokenFn')}
        authorizerResultTtlInSeconds: 60
        identityValidationExpression: "^Bearer .+$"
        authorizerCredentials: arn:aws:iam::123456789012:role/invoker
    requestAuth:
      type: apiKey
      name: Unused
      in: header
      x-amazon-apigateway-authtype: custom
      x-amazon-apigateway-authorizer:
        type: request
        identitySource: method.request.header.X-User, method.request.querystring.team
        authorizerUri: ${lambdaUri('requestFn')}
        authorizerResultTtlInSeconds: 0
    httpLambda:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authorizer:
        type: request
        identitySource: $request.header.Authorization
        authorizerUri: ${lambdaUri('simpleFn')}
        authorizerPayloadFormatVersion: "2.0"
        enableSimpleResponses: true
    jwtAuth:
      type: oauth2
      flows: {}
      x-amazon-apigateway-authorizer:
        type: jwt
        identitySource: $request.header.Authorization
        jwtConfiguration: { issuer: "https://idp.example", audience: [pets-api] }
    cognito:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authtype: cognito_user_pools
      x-amazon-apigateway-authorizer: { type: cognito_user_pools, providerARNs: [arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbC123], identitySource: method.request.header.Authorization }
security: [{ tokenAuth: [] }]
paths:
  /pets:
    get:
      x-amazon-apigateway-integration: { type: mock }
    post:
      security: [{ requestAuth: [] }]
      x-amazon-apigateway-integration: { type: mock }
  /simple:
    get:
      security: [{ httpLambda: [] }]
      x-amazon-apigateway-integration: { type: mock }
  /orders:
    get:
      security: [{ jwtAuth: [orders:read, orders:admin] }]
      x-amazon-apigateway-integration: { type: mock }
  /users:
    get:
      security: [{ cognito: [email] }]
      x-amazon-apigateway-integration: { type: mock }
  /open:
    get:
      security: []
      x-amazon-apigateway-integration: { type: mock }
`,
    );
    const c = loadConfig(file);
    const [api] = c.apis;
    assert.isDefined(api);
    expect(api.authorizers.tokenAuth).toEqual({ type: 'token', function: 'tokenFn', identitySource: 'method.request.header.X-Token', identityValidationExpression: '^Bearer .+$', resultTtlSeconds: 60, timeoutMs: 10_000 });
    expect(api.authorizers.requestAuth).toMatchObject({ type: 'request', function: 'requestFn', identitySource: ['method.request.header.X-User', 'method.request.querystring.team'], resultTtlSeconds: 0 });
    expect(api.authorizers.httpLambda).toMatchObject({ type: 'request', function: 'simpleFn', payloadFormatVersion: '2.0', enableSimpleResponses: true });
    expect(api.authorizers.jwtAuth).toMatchObject({ type: 'jwt', issuer: 'https://idp.example', audiences: ['pets-api'], identitySource: '$request.header.Authorization' });
    expect(api.authorizers.cognito).toMatchObject({ type: 'cognito_user_pools', userPools: ['arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbC123'], identitySource: 'method.request.header.Authorization', clientIds: [] });
    expect(api.routes['GET /users']).toMatchObject({ authorizer: 'cognito', authorizationScopes: ['email'] });
    expect(api.routes['GET /pets']?.authorizer).toBe('tokenAuth');
    expect(api.routes['POST /pets']?.authorizer).toBe('requestAuth');
    expect(api.routes['GET /simple']?.authorizer).toBe('httpLambda');
    expect(api.routes['GET /orders']).toMatchObject({ authorizer: 'jwtAuth', authorizationScopes: ['orders:read', 'orders:admin'] });
    expect(api.routes['GET /open']).toBeDefined();
    expect(api.routes['GET /open']?.authorizer).toBeUndefined();
    const warned = c.warnings.map((w) => `${w.path}: ${w.message}`);
    expect(warned).toContainEqual(expect.stringMatching(/tokenAuth.x-amazon-apigateway-authorizer.authorizerCredentials: authorizerCredentials is ignored/));
    // Supported extensions produce no "not supported yet" warning.
    expect(warned.filter((w) => /x-amazon-apigateway-auth(type|orizer) is not supported yet/.test(w))).toEqual([]);
  });

  it('name the field of a bad authorizer extension', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `openapi: 3.0.1
info: { title: pets }
components:
  securitySchemes:
    a:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authorizer: { type: token, authorizerUri: "https://not-a-lambda/" }
    b:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authorizer: { type: token, authorizerUri: ${lambdaUri('fn')}, authorizerResultTtlInSeconds: 7200 }
paths:
  /x: { get: { x-amazon-apigateway-integration: { type: mock } } }
`,
    );
    const issues = issuesOf(() => loadConfig(file));
    expect(issues.find((i) => i.path === 'components.securitySchemes.a.x-amazon-apigateway-authorizer.authorizerUri')).toMatchObject({ line: 9, message: expect.stringMatching(/names no Lambda function/) });
    expect(issues.find((i) => i.path === 'components.securitySchemes.b.x-amazon-apigateway-authorizer.authorizerResultTtlInSeconds')?.message).toBe('at most 3600 seconds');
  });
});

describe('security requirements Turnpike cannot enforce', () => {
  const doc = (schemes: string, security: string) => `openapi: 3.0.1
info: { title: locked }
components:
  securitySchemes:
${schemes}
paths:
  /secret:
    get:
      security: ${security}
      x-amazon-apigateway-integration: { type: mock }
`;
  const errorOf = (text: string) => {
    try {
      parseConfig(text, 'locked.yaml');
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    return 'no error';
  };

  it('refuses an IAM (awsSigv4) requirement instead of serving the route to anyone', () => {
    const msg = errorOf(doc(`    sigv4:\n      type: apiKey\n      name: Authorization\n      in: header\n      x-amazon-apigateway-authtype: awsSigv4`, '[{ sigv4: [] }]'));
    expect(msg).toMatch(/locked\.yaml:\d+: paths\./);
    expect(msg).toMatch(/security requirement sigv4 is IAM authorization \(awsSigv4\), which Turnpike cannot enforce/);
  });

  it('refuses an unknown authorizer type and a requirement naming no scheme', () => {
    const msg = errorOf(doc(`    future:\n      type: apiKey\n      name: Authorization\n      in: header\n      x-amazon-apigateway-authorizer: { type: quantum }`, '[{ future: [] }, { ghost: [] }]'));
    expect(msg).toMatch(/authorizer type "quantum" cannot be enforced/);
    expect(msg).toMatch(/security requirement ghost names no scheme/);
  });

  it('refuses an oauth2 scheme without an authorizer extension', () => {
    expect(errorOf(doc(`    oauth:\n      type: oauth2\n      flows: {}`, '[{ oauth: [read] }]'))).toMatch(/security requirement oauth is a security scheme of type "oauth2"/);
  });

  it('does not turn on API keys for an authorizer scheme whose header is x-api-key', () => {
    const c = parseConfig(
      doc(
        `    X-Api-Key:\n      type: apiKey\n      name: x-api-key\n      in: header\n      x-amazon-apigateway-authtype: custom\n      x-amazon-apigateway-authorizer: { type: token, authorizerUri: keyCheck, identitySource: method.request.header.x-api-key }`,
        '[{ X-Api-Key: [] }]',
      ),
      'locked.yaml',
    );
    expect(c.apis[0]?.routes['GET /secret']).toMatchObject({ authorizer: 'X-Api-Key', apiKeyRequired: false });
  });

  it('falls back to the scheme header for Pulumi\'s empty identitySource', () => {
    const c = parseConfig(
      doc(`    tok:\n      type: apiKey\n      name: X-Auth\n      in: header\n      x-amazon-apigateway-authtype: custom\n      x-amazon-apigateway-authorizer: { type: token, authorizerUri: check, identitySource: "" }`, '[{ tok: [] }]'),
      'locked.yaml',
    );
    expect(c.apis[0]?.authorizers.tok).toMatchObject({ identitySource: 'method.request.header.X-Auth' });
  });
});

describe('access restrictions that would be lost', () => {
  const errorOf = (text: string) => {
    try {
      parseConfig(text, 'policy.yaml');
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    return 'no error';
  };

  it('refuses a resource policy and an HTTP API route with IAM authorization', () => {
    const msg = errorOf(`openapi: 3.0.1
info: { title: private }
x-amazon-apigateway-policy:
  Version: "2012-10-17"
  Statement: [{ Effect: Deny, Principal: "*", Action: execute-api:Invoke, Resource: "*", Condition: { NotIpAddress: { aws:SourceIp: [10.0.0.0/8] } } }]
paths:
  /x:
    get:
      x-amazon-apigateway-auth: { type: AWS_IAM }
      x-amazon-apigateway-integration: { type: mock }
  /open:
    get:
      x-amazon-apigateway-auth: { type: NONE }
      x-amazon-apigateway-integration: { type: mock }
`);
    expect(msg).toMatch(/policy\.yaml:\d+: x-amazon-apigateway-policy: resource policies are not enforced/);
    expect(msg).toMatch(/paths\.\/x\.get\.x-amazon-apigateway-auth: x-amazon-apigateway-auth type "AWS_IAM" \(IAM\) cannot be enforced/);
    expect(msg).not.toMatch(/\/open/);
  });
});
