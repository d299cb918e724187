import { describe, expect, it } from 'vitest';
import { mapResponseV1, mapResponseV2 } from '../src/integrations/function/proxyResponse.js';
import { binaryMatcher } from '../src/integrations/function/proxyEvent.js';

// API Gateway's reading of Lambda proxy results; the end-to-end cases are in services/worker/test.
describe('Lambda proxy response mapping', () => {
  it('reads a 1.0 result', () => {
    expect(mapResponseV1({ statusCode: 404, headers: { 'X-A': 'b', 'x-n': 3 }, body: 'nope' })).toEqual({ status: 404, headers: ['X-A', 'b', 'x-n', '3', 'content-type', 'application/json'], body: 'nope' });
    expect(mapResponseV1({ statusCode: '201' })).toEqual({ status: 201, headers: ['content-type', 'application/json'], body: '' });
    expect(mapResponseV1({ statusCode: 200, isBase64Encoded: true, body: Buffer.from([1, 2]).toString('base64'), headers: { 'content-type': 'image/png' } })).toMatchObject({ body: Buffer.from([1, 2]) });
  });

  it('drops framing headers a function must not set', () => {
    expect(mapResponseV1({ statusCode: 200, headers: { 'content-length': '999', 'transfer-encoding': 'chunked', connection: 'close', 'content-type': 'text/plain' } })).toEqual({ status: 200, headers: ['content-type', 'text/plain'], body: '' });
  });

  it.each([
    ['a string', 'hello'],
    ['no statusCode', { body: 'x' }],
    ['a non-numeric statusCode', { statusCode: 'ok' }],
    ['an out-of-range statusCode', { statusCode: 99 }],
    ['an object body', { statusCode: 200, body: { a: 1 } }],
    ['an object header value', { statusCode: 200, headers: { a: { b: 1 } } }],
    ['multiValueHeaders that are not arrays', { statusCode: 200, multiValueHeaders: { a: 'b' } }],
    ['a string isBase64Encoded', { statusCode: 200, isBase64Encoded: 'true' }],
  ])('calls a 1.0 result with %s malformed', (_, result) => {
    expect(typeof mapResponseV1(result)).toBe('string');
  });

  it('reads 2.0 results, structured and simplified', () => {
    expect(mapResponseV2({ statusCode: 200, cookies: ['a=1'], body: 'x' }, '')).toEqual({ status: 200, headers: ['set-cookie', 'a=1', 'content-type', 'application/json'], body: 'x' });
    expect(mapResponseV2({ hello: 'world' }, '{"hello":"world"}')).toEqual({ status: 200, headers: ['content-type', 'application/json'], body: '{"hello":"world"}' });
    expect(mapResponseV2('text', '"text"')).toMatchObject({ status: 200, body: '"text"' });
    expect(typeof mapResponseV2({ statusCode: 200, cookies: 'a=1' }, '')).toBe('string');
  });

  it('matches binary media types with wildcards', () => {
    const m = binaryMatcher(['image/*', 'application/octet-stream']);
    expect(m('image/png')).toBe(true);
    expect(m('Application/Octet-Stream; charset=x')).toBe(true);
    expect(m('text/plain')).toBe(false);
    expect(m(undefined)).toBe(false);
    expect(binaryMatcher(['*/*'])('text/html')).toBe(true);
  });
});
