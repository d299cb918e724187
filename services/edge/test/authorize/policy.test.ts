import { describe, expect, it } from 'vitest';
import { methodArn, methodArnPrefix } from '../../src/services/authorization/policy/methodArn.js';
import { compilePolicy, isAllowed, reducePolicy } from '../../src/services/authorization/policy/policy.js';
import { parseIamResult, parseSimpleResult } from '../../src/services/authorization/lambda/result.js';
import { MalformedAuthorizerResult } from '../../src/services/authorization/verdict.js';
import { pathBelow } from '../../src/stages/authorize/httpAuthRequest.js';

const PREFIX = methodArnPrefix('eu-west-1', '123456789012', 'shop', 'prod');
const arn = (method: string, path: string) => methodArn(PREFIX, method, path);
const allowing = (...Resource: string[]) => compilePolicy(reducePolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource }] }));

describe('method ARNs', () => {
  it('are built as API Gateway builds them', () => {
    expect(arn('GET', '/pets/42')).toBe('arn:aws:execute-api:eu-west-1:123456789012:shop/prod/GET/pets/42');
    expect(arn('GET', '/')).toBe('arn:aws:execute-api:eu-west-1:123456789012:shop/prod/GET/');
    expect(methodArnPrefix('us-east-1', '000000000000', 'api', '$default')).toBe('arn:aws:execute-api:us-east-1:000000000000:api/$default/');
  });

  it('name the path below the base path and stage', () => {
    expect(pathBelow('/shop/prod/pets/1', 2)).toBe('/pets/1');
    expect(pathBelow('/pets/1', 0)).toBe('/pets/1');
    expect(pathBelow('/shop/prod', 2)).toBe('/');
    expect(pathBelow('/', 0)).toBe('/');
  });
});

describe('resource wildcards', () => {
  const base = 'arn:aws:execute-api:eu-west-1:123456789012:shop';
  // [pattern, method, path, allowed]
  const cases: [string, string, string, boolean][] = [
    [`${base}/prod/GET/pets/42`, 'GET', '/pets/42', true],
    [`${base}/prod/GET/pets/42`, 'GET', '/pets/43', false],
    [`${base}/prod/GET/pets/42`, 'POST', '/pets/42', false],
    [`${base}/prod/GET/pets/*`, 'GET', '/pets/42', true],
    [`${base}/prod/GET/pets/*`, 'GET', '/pets/42/toys/1', true], // `*` crosses slashes, as in IAM
    [`${base}/prod/GET/pets/*`, 'GET', '/pets', false],
    [`${base}/prod/GET/pets*`, 'GET', '/pets', true],
    [`${base}/prod/*/pets/42`, 'DELETE', '/pets/42', true],
    [`${base}/prod/*`, 'PATCH', '/anything/at/all', true],
    [`${base}/*/GET/pets/42`, 'GET', '/pets/42', true],
    [`${base}/dev/GET/pets/42`, 'GET', '/pets/42', false],
    [`${base}/*`, 'GET', '/', true],
    [`${base}/prod/GET/`, 'GET', '/', true],
    [`${base}/prod/GET/`, 'GET', '/pets', false],
    [`${base}/prod/GET/pets/?`, 'GET', '/pets/7', true],
    [`${base}/prod/GET/pets/?`, 'GET', '/pets/42', false],
    [`${base}/prod/GET/pets/??`, 'GET', '/pets/42', true],
    [`${base}/prod/?ET/pets/42`, 'GET', '/pets/42', true],
    [`${base}/prod/GET/pets/4?/toys`, 'GET', '/pets/42/toys', true],
    ['arn:aws:execute-api:eu-west-1:123456789012:other/prod/GET/pets/42', 'GET', '/pets/42', false],
    ['arn:aws:execute-api:us-east-1:123456789012:shop/prod/GET/pets/42', 'GET', '/pets/42', false],
    ['arn:aws:execute-api:eu-west-1:999999999999:shop/prod/GET/pets/42', 'GET', '/pets/42', false],
    ['arn:aws:execute-api:*:*:shop/prod/GET/*', 'GET', '/pets/42', true],
    ['arn:aws:execute-api:eu-west-1:123456789012:*', 'PUT', '/x', true],
    ['*', 'PUT', '/x', true],
    [`${base}/prod/get/pets/42`, 'GET', '/pets/42', false], // resources are case-sensitive
    [`${base}/prod/GET/pets/4.`, 'GET', '/pets/42', false], // regex characters are literal
    [`${base}/prod/GET/pets/(4|5)2`, 'GET', '/pets/42', false],
    [`${base}/prod/GET/a+b`, 'GET', '/a+b', true],
    [`${base}/prod/GET/a+b`, 'GET', '/aab', false],
  ];
  it.each(cases)('%s on %s %s → %s', (pattern, method, path, allowed) => {
    expect(isAllowed(allowing(pattern), arn(method, path))).toBe(allowed);
  });

  it('match any of several resources of one statement', () => {
    const p = allowing(`${base}/prod/GET/a`, `${base}/prod/POST/b`);
    expect(isAllowed(p, arn('GET', '/a'))).toBe(true);
    expect(isAllowed(p, arn('POST', '/b'))).toBe(true);
    expect(isAllowed(p, arn('GET', '/b'))).toBe(false);
  });
});

describe('policy evaluation', () => {
  const base = 'arn:aws:execute-api:eu-west-1:123456789012:shop/prod';
  it('an explicit Deny beats any Allow, in any order', () => {
    for (const order of [0, 1]) {
      const statements = [
        { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${base}/*` },
        { Effect: 'Deny', Action: 'execute-api:Invoke', Resource: [`${base}/DELETE/*`] },
      ];
      if (order) statements.reverse();
      const p = compilePolicy(reducePolicy({ Version: '2012-10-17', Statement: statements }));
      expect(isAllowed(p, arn('GET', '/pets/1'))).toBe(true);
      expect(isAllowed(p, arn('DELETE', '/pets/1'))).toBe(false);
    }
  });

  it('no matching Allow is a deny; an empty policy denies everything', () => {
    expect(isAllowed(compilePolicy(reducePolicy({ Statement: [] })), arn('GET', '/'))).toBe(false);
    expect(isAllowed(compilePolicy(reducePolicy({ Statement: [{ Effect: 'Deny', Action: 'execute-api:Invoke', Resource: `${base}/POST/*` }] })), arn('GET', '/'))).toBe(false);
  });

  it('only statements covering execute-api:Invoke count; action names ignore case and take wildcards', () => {
    const doc = (Action: unknown) => ({ Statement: [{ Effect: 'Allow', Action, Resource: '*' }] });
    expect(isAllowed(compilePolicy(reducePolicy(doc('execute-api:Invoke'))), arn('GET', '/'))).toBe(true);
    expect(isAllowed(compilePolicy(reducePolicy(doc('Execute-API:invoke'))), arn('GET', '/'))).toBe(true);
    expect(isAllowed(compilePolicy(reducePolicy(doc('execute-api:*'))), arn('GET', '/'))).toBe(true);
    expect(isAllowed(compilePolicy(reducePolicy(doc('*'))), arn('GET', '/'))).toBe(true);
    expect(isAllowed(compilePolicy(reducePolicy(doc(['s3:GetObject', 'execute-api:Invoke']))), arn('GET', '/'))).toBe(true);
    expect(isAllowed(compilePolicy(reducePolicy(doc('execute-api:ManageConnections'))), arn('GET', '/'))).toBe(false);
    expect(isAllowed(compilePolicy(reducePolicy(doc('s3:*'))), arn('GET', '/'))).toBe(false);
    // A Deny for another action does not deny this one.
    const p = compilePolicy(reducePolicy({ Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: '*' }, { Effect: 'Deny', Action: 's3:*', Resource: '*' }] }));
    expect(isAllowed(p, arn('GET', '/'))).toBe(true);
  });

  it('accepts a single Statement object and lower-case effects', () => {
    expect(isAllowed(compilePolicy(reducePolicy({ Statement: { Effect: 'allow', Action: 'execute-api:Invoke', Resource: '*' } })), arn('GET', '/'))).toBe(true);
  });

  it.each([
    [null, /not an object/],
    [{}, /Statement is missing/],
    [{ Statement: [42] }, /Statement\[0\] is not an object/],
    [{ Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] }, /Effect must be Allow or Deny/],
    [{ Statement: [{ Effect: 'Allow', Resource: '*' }] }, /Action/],
    [{ Statement: [{ Effect: 'Allow', Action: '*', Resource: [] }] }, /Resource/],
    [{ Statement: [{ Effect: 'Allow', Action: '*', Resource: [1] }] }, /Resource/],
  ])('rejects a malformed policy document %j', (doc, message) => {
    expect(() => reducePolicy(doc)).toThrow(MalformedAuthorizerResult);
    expect(() => reducePolicy(doc)).toThrow(message);
  });
});

describe('authorizer results', () => {
  const policyDocument = { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:*' }] };

  it('parses the documented IAM output', () => {
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
    const r = parseIamResult({ principalId: 'user|a1b2c3d4', policyDocument, context: { stringKey: 'value', numberKey: '1', booleanKey: 'true' }, usageIdentifierKey: '{api-key}' });
    expect(r).toEqual({ principalId: 'user|a1b2c3d4', context: { stringKey: 'value', numberKey: '1', booleanKey: 'true' }, usageIdentifierKey: '{api-key}', allow: ['arn:aws:execute-api:*'], deny: [] });
    expect(parseIamResult({ principalId: 7, policyDocument }).principalId).toBe('7');
  });

  it.each([
    ['Unauthorized', /expected an object, got string/],
    [{ policyDocument }, /principalId is missing/],
    [{ principalId: 'u' }, /policyDocument is not an object/],
    [{ principalId: 'u', policyDocument, context: { nested: { a: 1 } } }, /context.nested must be a string, number or boolean/],
    [{ principalId: 'u', policyDocument, context: [1] }, /context must be an object/],
    [{ principalId: 'u', policyDocument, usageIdentifierKey: 5 }, /usageIdentifierKey/],
  ])('rejects malformed output %j', (out, message) => {
    expect(() => parseIamResult(out)).toThrow(message);
  });

  it('parses simple responses into allow-all or allow-nothing', () => {
    const yes = parseSimpleResult({ isAuthorized: true, context: { tenant: 'acme', nested: { ok: true } } });
    expect(isAllowed(compilePolicy(yes), arn('GET', '/x'))).toBe(true);
    expect(yes.context).toEqual({ tenant: 'acme', nested: { ok: true } });
    expect(isAllowed(compilePolicy(parseSimpleResult({ isAuthorized: false })), arn('GET', '/x'))).toBe(false);
    expect(() => parseSimpleResult({ isAuthorized: 'yes' })).toThrow(/boolean isAuthorized/);
  });
});
