import { describe, expect, it } from 'vitest';
import { mapResponseV1, mapResponseV2 } from '../src/integrations/function/proxyResponse.js';
import { binaryMatcher } from '../src/integrations/function/proxyEvent.js';

// API Gateway's reading of Lambda proxy results; the end-to-end cases are in services/worker/test.
describe('Lambda proxy response mapping', () => {
  it('reads a 1.0 result', () => {
    expect(mapResponseV1({ statusCode: 404, headers: { 'X-A': 'b', 'x-n': 3 }, body: 'nope' }, true)).toEqual({ status: 404, headers: ['X-A', 'b', 'x-n', '3', 'content-type', 'application/json'], body: 'nope' });
    expect(mapResponseV1({ statusCode: '201' }, true)).toEqual({ status: 201, headers: ['content-type', 'application/json'], body: '' });
    expect(mapResponseV1({ statusCode: 200, isBase64Encoded: true, body: Buffer.from([1, 2]).toString('base64'), headers: { 'content-type': 'image/png' } }, true)).toMatchObject({ body: Buffer.from([1, 2]) });
  });

  it('leaves an isBase64Encoded body as base64 text unless the request accepts a binary type', () => {
    const b64 = Buffer.from([1, 2]).toString('base64');
    expect(mapResponseV1({ statusCode: 200, isBase64Encoded: true, body: b64 }, false)).toMatchObject({ body: b64 });
  });

  it('drops framing headers a function must not set', () => {
    expect(mapResponseV1({ statusCode: 200, headers: { 'content-length': '999', 'transfer-encoding': 'chunked', connection: 'close', 'content-type': 'text/plain' } }, true)).toEqual({ status: 200, headers: ['content-type', 'text/plain'], body: '' });
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
    expect(typeof mapResponseV1(result, true)).toBe('string');
  });

  it('reads 2.0 results, structured and simplified', () => {
    expect(mapResponseV2({ statusCode: 200, cookies: ['a=1'], body: 'x' }, true)).toEqual({ status: 200, headers: ['set-cookie', 'a=1', 'content-type', 'application/json'], body: 'x' });
    expect(mapResponseV2({ hello: 'world' }, true)).toEqual({ status: 200, headers: ['content-type', 'application/json'], body: '{"hello":"world"}' });
    // AWS answers a bare string result with the string itself, not its JSON text.
    expect(mapResponseV2('text', true)).toMatchObject({ status: 200, body: 'text' });
    expect(mapResponseV2(42, true)).toMatchObject({ status: 200, body: '42' });
    expect(typeof mapResponseV2({ statusCode: 200, cookies: 'a=1' }, true)).toBe('string');
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
