import { fileURLToPath } from 'node:url';
import { assert, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '@turnpike/config';
import { issuesOf } from './issues.js';

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));

describe('Turnpike config', () => {
  it('loads a valid file with defaults filled in', () => {
    const c = parseConfig(`
apis:
  - name: a
    routes:
      GET /x: { integration: { type: mock } }
`);
    expect(c.gateway.listen.port).toBe(8080);
    expect(c.gateway.maxBodyBytes).toBe(10 * 1024 * 1024);
    // API Gateway's request limits: 10 KB of request line and headers, bodies buffered up to 10 MB.
    expect(c.gateway.maxHeaderBytes).toBe(10 * 1024);
    expect(c.gateway.bodyBufferBytes).toBe(10 * 1024 * 1024);
    expect(c.gateway.bodyTimeoutMs).toBe(30_000);
    expect(c.apis[0]?.stages).toEqual({ $default: { variables: {} } });
    expect(c.apis[0]?.routes['GET /x']?.integration).toMatchObject({ type: 'mock', statusCode: 200 });
    expect(Object.isFrozen(c.apis[0])).toBe(true);
  });

  it('reports every problem at once, each with file, field path and line', () => {
    const issues = issuesOf(() =>
      parseConfig(
        `gateway:
  accountId: "12"
apis:
  - name: a
    routes:
      FETCH /x: { integration: { type: mock } }
      GET /y: { integration: { type: http_proxy } }
      GET /z: { integration: { type: lambda } }
      GET /w: { integration: { type: http_proxy, uri: "http://u", timeoutMs: 60000 } }
`,
        'bad.yaml',
      ),
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(issues.every((i) => i.file.endsWith('bad.yaml'))).toBe(true);
    expect(byPath['gateway.accountId']).toMatchObject({ line: 2, message: expect.stringMatching(/12 digits/) });
    expect(byPath['apis[0].routes.FETCH /x']).toMatchObject({ line: 6, message: expect.stringMatching(/METHOD \/path/) });
    expect(byPath['apis[0].routes.GET /y.integration.uri']).toMatchObject({ line: 7 });
    expect(byPath['apis[0].routes.GET /z.integration.type']).toMatchObject({ line: 8 });
    expect(byPath['apis[0].routes.GET /w.integration.timeoutMs']).toMatchObject({ line: 9, message: expect.stringMatching(/29000/) });
  });

  it('points YAML syntax errors at their line', () => {
    const [issue] = issuesOf(() => parseConfig('apis:\n  - name: a\n    routes: {\n', 'syntax.yaml'));
    expect(issue!.message).toMatch(/^YAML syntax: .*\(column \d+\)\n    \d+ \| .*\n\s+\| *\^$/);
    expect(issue!.message).not.toMatch(/:$/);
    expect(issue!.line).toBeGreaterThan(0);
  });

  it('reports an unknown field at its own line with the field it resembles, a bad type with the valid ones, in line order', () => {
    const issues = issuesOf(() =>
      parseConfig(
        `apis:
  - name: a
    stages: { $default: {} }
    routes:
      GET /b: { apiKeyRequierd: true,
                integration: { type: mock } }
      GET /a:
        integration: { type: mok }
`,
        'typos.yaml',
      ),
    );
    expect(issues.map((i) => [i.line, i.path, i.message])).toEqual([
      [5, 'apis[0].routes.GET /b.apiKeyRequierd', 'unknown field "apiKeyRequierd" (did you mean "apiKeyRequired"?)'],
      [8, 'apis[0].routes.GET /a.integration.type', 'unknown type "mok"; expected one of http_proxy, http, mock, function (did you mean "mock"?)'],
    ]);
  });

  it('says which file does not exist', () => {
    const [issue] = issuesOf(() => loadConfig('/nonexistent/turnpike.yaml'));
    expect(issue!.message).toBe('no such file: /nonexistent/turnpike.yaml');
  });

  it('substitutes ${env:NAME} and reports an unset variable by field', () => {
    process.env.TP_TEST_UPSTREAM = 'http://127.0.0.1:1234';
    const yaml = (ref: string) => `
apis:
  - name: a
    routes:
      GET /x: { integration: { type: http_proxy, uri: "${ref}/x" } }
`;
    const c = parseConfig(yaml('${env:TP_TEST_UPSTREAM}'));
    expect(c.apis[0]?.routes['GET /x']?.integration).toMatchObject({ uri: 'http://127.0.0.1:1234/x' });
    expect(parseConfig(yaml('${env:TP_TEST_UNSET_VAR:-http://d}')).apis[0]?.routes['GET /x']?.integration).toMatchObject({ uri: 'http://d/x' });
    const [issue] = issuesOf(() => parseConfig(yaml('${env:TP_TEST_UNSET_VAR}')));
    expect(issue).toMatchObject({ path: 'apis[0].routes.GET /x.integration.uri', line: 5, message: expect.stringMatching(/TP_TEST_UNSET_VAR is not set/) });
  });

  it('refuses an integration that uses a path parameter its route path does not define', () => {
    const issues = issuesOf(() =>
      parseConfig(
        `apis:
  - name: a
    routes:
      GET /pets/{id}:
        integration:
          type: http_proxy
          uri: "http://u/pets/{petId}?v={v}"
          requestHeaders: { x-pet: "\${request.path.petId}", x-id: "\${request.path.id}" }
      GET /{proxy+}: { integration: { type: http, uri: "http://u/{proxy}/{id}", requestQuery: { q: "\${request.path.nope}" } } }
      GET /ok/{id}: { integration: { type: http_proxy, uri: "http://u/ok/{id}" } }
`,
        'params.yaml',
      ),
    );
    expect(issues.map((i) => [i.line, i.path, i.message])).toEqual([
      [7, 'apis[0].routes.GET /pets/{id}.integration.uri', 'integration uri uses {petId}, which the route path /pets/{id} does not define'],
      [8, 'apis[0].routes.GET /pets/{id}.integration.requestHeaders.x-pet', 'integration requestHeaders.x-pet uses ${request.path.petId}, which the route path /pets/{id} does not define'],
      [9, 'apis[0].routes.GET /{proxy+}.integration.uri', 'integration uri uses {id}, which the route path /{proxy+} does not define'],
      [9, 'apis[0].routes.GET /{proxy+}.integration.requestQuery.q', 'integration requestQuery.q uses ${request.path.nope}, which the route path /{proxy+} does not define'],
    ]);
  });

  it('refuses ${env:...} entirely when told to (a document uploaded to the control service)', () => {
    process.env.TP_TEST_SECRET = 'secret';
    const yaml = `apis:\n  - name: a\n    routes:\n      GET /x: { integration: { type: http_proxy, uri: "http://h/\${env:TP_TEST_SECRET:-d}" } }\n`;
    const [issue] = issuesOf(() => parseConfig(yaml, 'up.yaml', { env: null }));
    expect(issue).toMatchObject({ path: 'apis[0].routes.GET /x.integration.uri', line: 4, message: expect.stringMatching(/^\$\{env:TP_TEST_SECRET\} is resolved where a file is loaded/) });
    expect(JSON.stringify(issue)).not.toContain('secret"');
    delete process.env.TP_TEST_SECRET;
  });

  it('keeps functions with code out of file configs: they belong to control-plane definitions', () => {
    const [issue] = issuesOf(() => parseConfig(`apis:\n  - name: a\n    functions: { f: { code: "export const handler = () => 1" } }\n    routes: { GET /x: { integration: { type: function, function: f } } }\n`));
    expect(issue).toMatchObject({ path: 'apis[0].functions', line: 3, message: expect.stringMatching(/top-level functions: block/) });
  });

  it('refuses two APIs mounted at the same host and base path', () => {
    const issues = issuesOf(() =>
      parseConfig(`
apis:
  - { name: a, routes: { GET /x: { integration: { type: mock } } } }
  - { name: b, routes: { GET /y: { integration: { type: mock } } } }
`),
    );
    expect(issues[0]?.message).toMatch(/already mounted/);
  });
});

describe('OpenAPI import', () => {
  it('imports an AWS export with x-amazon-apigateway-* extensions', () => {
    const c = loadConfig(`${examples}petstore-openapi.yaml`, { stageVariables: { petstoreUrl: 'http://127.0.0.1:8081' } });
    const [api] = c.apis;
    expect(c.apis).toHaveLength(1);
    assert.isDefined(api);
    // The export's server URL (https://...amazonaws.com/{basePath}, default prod) names the stage, as on AWS.
    expect(Object.keys(api.stages)).toEqual(['prod']);
    expect(api.basePath).toBe('/');
    expect(Object.keys(api.routes).sort()).toEqual(['ANY /{proxy+}', 'GET /pets', 'GET /pets/{petId}', 'OPTIONS /pets', 'POST /pets']);
    expect(api.routes['GET /pets']?.integration).toMatchObject({ type: 'http_proxy', method: 'GET', timeoutMs: 29000, uri: '${stageVariables.petstoreUrl}/petstore/pets' });
    // requestParameters renames the integration's {id} to the method's {petId}.
    expect(api.routes['GET /pets/{petId}']?.integration).toMatchObject({ uri: '${stageVariables.petstoreUrl}/petstore/pets/{petId}' });
    expect(api.routes['POST /pets']?.apiKeyRequired).toBe(true);
    expect(api.routes['GET /pets']?.apiKeyRequired).toBe(false);
    expect(api.routes['OPTIONS /pets']?.integration).toMatchObject({ type: 'mock', statusCode: 200, headers: { 'Access-Control-Allow-Methods': 'POST,GET,OPTIONS' } });
    expect(api.routes['ANY /{proxy+}']?.integration).toMatchObject({ type: 'http_proxy', uri: '${stageVariables.petstoreUrl}/{proxy}' });
    expect(api.routes['ANY /{proxy+}']?.integration).not.toHaveProperty('method');
    expect(api.binaryMediaTypes).toEqual(['image/png']);
    const warned = c.warnings.map((w) => w.path);
    expect(api.gatewayResponses).toEqual({ DEFAULT_4XX: { responseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': "'*'" }, responseTemplates: {} } });
    expect(warned).toContain('paths./{proxy+}.x-amazon-apigateway-any-method.x-amazon-apigateway-integration.cacheKeyParameters');
    expect(c.warnings.every((w) => w.line! > 0)).toBe(true);
  });

  it('merges an imported document into a Turnpike API, written routes winning', () => {
    const c = loadConfig(`${examples}turnpike.yaml`);
    const petstore = c.apis.find((a) => a.name === 'petstore')!;
    expect(petstore.basePath).toBe('/petstore');
    expect(Object.keys(petstore.routes)).toContain('GET /pets/{petId}');
    expect(Object.keys(petstore.stages)).toEqual(['prod']);
  });

  it('names unsupported integration types as errors and missing integrations by path', () => {
    const issues = issuesOf(() =>
      parseConfig(
        `openapi: "3.0.1"
info: { title: t, version: "1" }
paths:
  /a:
    get:
      x-amazon-apigateway-integration: { type: aws, uri: "arn:aws:apigateway:us-east-1:s3:path/b" }
  /c:
    post:
      x-amazon-apigateway-integration: { type: aws, uri: "arn:aws:apigateway:us-east-1:states:action/StartExecution" }
  /b:
    get:
      responses: {}
`,
        'oas.yaml',
      ),
    );
    expect(issues).toEqual([
      expect.objectContaining({ path: 'paths./a.get.x-amazon-apigateway-integration.uri', line: 6, message: expect.stringMatching(/AWS service integration s3:path\/b \(S3\) has no local equivalent/) }),
      expect.objectContaining({ path: 'paths./c.post.x-amazon-apigateway-integration.uri', line: 9, message: expect.stringMatching(/states:action\/StartExecution \(Step Functions\) has no local equivalent/) }),
      expect.objectContaining({ path: 'paths./b.get', message: expect.stringMatching(/no x-amazon-apigateway-integration/) }),
    ]);
  });

  it('refuses a URI parameter or a requestParameters mapping naming a path parameter the path does not define', () => {
    const issues = issuesOf(() =>
      parseConfig(
        `openapi: "3.0.1"
info: { title: t, version: "1" }
paths:
  /pets/{id}:
    get:
      x-amazon-apigateway-integration:
        type: http_proxy
        uri: "http://u/pets/{petId}"
    put:
      x-amazon-apigateway-integration:
        type: http
        uri: "http://u/pets/{petId}"
        requestParameters:
          integration.request.path.petId: method.request.path.petId
          integration.request.header.x-owner: method.request.path.owner
    delete:
      x-amazon-apigateway-integration:
        type: http_proxy
        uri: "http://u/pets/{petId}"
        requestParameters: { integration.request.path.petId: method.request.path.id }
`,
        'oas-params.yaml',
      ),
    );
    expect(issues.map((i) => [i.line, i.path, i.message])).toEqual([
      [8, 'paths./pets/{id}.get.x-amazon-apigateway-integration.uri', 'integration uri uses {petId}, which the route path /pets/{id} does not define'],
      [14, 'paths./pets/{id}.put.x-amazon-apigateway-integration.requestParameters.integration.request.path.petId', 'request parameter mapping integration.request.path.petId uses method.request.path.petId, which the route path /pets/{id} does not define'],
      [15, 'paths./pets/{id}.put.x-amazon-apigateway-integration.requestParameters.integration.request.header.x-owner', 'request parameter mapping integration.request.header.x-owner uses method.request.path.owner, which the route path /pets/{id} does not define'],
    ]);
  });

  it('refuses OpenAPI 2 (Swagger)', () => {
    const issues = issuesOf(() => parseConfig('openapi: "2.0"\ninfo: { title: t }\npaths: {}\n'));
    expect(issues[0]?.message).toMatch(/OpenAPI 3/);
  });
});
