import { join } from 'node:path';
import { assert, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '@turnpike/config';

const fixtures = join(__dirname, '../../../test/fixtures/openapi');

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no ConfigError');
}

describe('Swagger 2.0 import', () => {
  it('imports AWS PetStore sample export as OpenAPI 3 would be', () => {
    const config = loadConfig(join(fixtures, 'petstore-swagger2.yaml'), { stageVariables: { upstream: 'http://127.0.0.1:1' } });
    const [api] = config.apis;
    assert.isDefined(api);
    const routes = api.routes;
    expect(Object.keys(routes).sort()).toEqual(['GET /', 'GET /pets', 'GET /pets/{petId}', 'POST /pets']);
    expect(routes['GET /pets/{petId}']?.integration).toMatchObject({ type: 'http_proxy', uri: '${stageVariables.upstream}/petstore/pets/{petId}', method: 'GET' });
    expect(config.apis[0]?.name).toBe('PetStore');
  });

  it('names Swagger and the line of the field in errors', () => {
    const err = configError(() =>
      parseConfig(
        `swagger: "2.0"
info: { title: t, version: "1" }
securityDefinitions:
  auth:
    type: apiKey
    name: Authorization
    in: header
    x-amazon-apigateway-authtype: custom
    x-amazon-apigateway-authorizer:
      type: token
      authorizerUri: "not-a-uri with spaces"
paths:
  /x:
    get:
      x-amazon-apigateway-integration:
        type: mock
        timeoutInMillis: 5
`,
        'api.yaml',
      ),
    );
    expect(err.issues[0]).toMatchObject({ path: 'securityDefinitions.auth.x-amazon-apigateway-authorizer.authorizerUri', line: 11 });
  });

  it('refuses another Swagger version, saying which are supported', () => {
    const err = configError(() => parseConfig('swagger: "1.2"\ninfo: { title: t }\npaths: {}\n', 'old.yaml'));
    expect(err.message).toMatch(/old\.yaml:1: swagger: Swagger "1\.2" is not supported: Swagger "2\.0" and OpenAPI 3\.x are/);
  });
});

describe('mapping templates', () => {
  it('refuses a template that does not parse, naming its line', () => {
    const err = configError(() =>
      parseConfig(
        `openapi: 3.0.1
info: { title: t }
paths:
  /x:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates:
          application/json: '#if($a {"statusCode": 200}'
`,
        'tpl.yaml',
      ),
    );
    expect(err.issues[0]).toMatchObject({ path: 'paths./x.get.x-amazon-apigateway-integration.requestTemplates.application/json', line: 9, message: expect.stringMatching(/not a valid Velocity template/) });
  });
});

describe('HTTP API exports', () => {
  it('resolves integrations by $ref, leaves OPTIONS to CORS, and names a Lambda alias', () => {
    const c = loadConfig(join(fixtures, 'httpapi-oas30.yaml'));
    const [api] = c.apis;
    assert.isDefined(api);
    expect(Object.keys(api.routes)).toEqual(['GET /items']);
    expect(api.routes['GET /items']?.integration).toMatchObject({ type: 'function', function: 'items', payloadFormatVersion: '2.0' });
    expect(api.cors).toMatchObject({ allowOrigins: ['https://app.example.com'], allowMethods: ['GET', 'OPTIONS'] });
    expect(Object.keys(api.stages)).toEqual(['$default']);
    expect(c.warnings.map((w) => w.message)).toContainEqual(expect.stringMatching(/alias or version "live" of function items/));
  });
});
