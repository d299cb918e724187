import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '@turnpike/config';

const doc = (integration: string) => `
openapi: 3.0.1
info: { title: orders }
paths:
  /orders/{id}:
    get:
      x-amazon-apigateway-integration:
${integration}
`;

describe('OpenAPI aws_proxy integrations', () => {
  it('maps a Lambda invocation URI to the function of that name', () => {
    const config = parseConfig(
      doc(`        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:get-order/invocations
        payloadFormatVersion: "2.0"
        timeoutInMillis: 5000`),
      'orders.yaml',
    );
    expect(config.apis[0]?.routes['GET /orders/{id}']?.integration).toEqual({ type: 'function', function: 'get-order', payloadFormatVersion: '2.0', invocationType: 'RequestResponse', timeoutMs: 5000 });
    expect(config.warnings).toEqual([]);
  });

  it('makes X-Amz-Invocation-Type: Event asynchronous', () => {
    const config = parseConfig(
      doc(`        type: aws_proxy
        uri: arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:audit/invocations
        requestParameters:
          integration.request.header.X-Amz-Invocation-Type: "'Event'"`),
      'orders.yaml',
    );
    expect(config.apis[0]?.routes['GET /orders/{id}']?.integration).toMatchObject({ type: 'function', function: 'audit', invocationType: 'Event', payloadFormatVersion: '1.0' });
    // A REST export (no HTTP API marker) is a REST API.
    expect(config.apis[0]?.type).toBe('rest');
  });

  it('maps X-Amz-Invocation-Type from a method request header to invocationTypeFrom', () => {
    const config = parseConfig(
      doc(`        type: aws_proxy
        uri: arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:audit/invocations
        requestParameters:
          integration.request.header.X-Amz-Invocation-Type: method.request.header.InvocationType`),
      'orders.yaml',
    );
    expect(config.apis[0]?.routes['GET /orders/{id}']?.integration).toMatchObject({ invocationType: 'RequestResponse', invocationTypeFrom: 'invocationtype' });
    expect(config.warnings).toEqual([]);
  });

  it('imports an HTTP API export (payloadFormatVersion, importexport-version) as type http', () => {
    const config = parseConfig(
      doc(`        type: aws_proxy
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:get-order/invocations
        payloadFormatVersion: "2.0"`),
      'orders.yaml',
    );
    expect(config.apis[0]?.type).toBe('http');
  });

  it('names the field of a URI that is not a Lambda function', () => {
    const err = (() => {
      try {
        parseConfig(doc(`        type: aws_proxy\n        uri: arn:aws:apigateway:us-east-1:s3:path/bucket/key`), 'orders.yaml');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]).toMatchObject({ path: expect.stringContaining('x-amazon-apigateway-integration.uri') });
    expect((err as ConfigError).message).toContain('orders.yaml');
  });
});

describe('functions block', () => {
  it('applies Lambda defaults and rejects bad names', () => {
    const config = parseConfig(`
functions:
  orders: { handler: ./functions/orders.handler }
apis:
  - name: a
    routes:
      GET /x: { integration: { type: function, function: orders } }
`);
    expect(config.functions.orders).toEqual({ handler: './functions/orders.handler', timeoutMs: 3000, memoryMB: 128, environment: {}, maxRetries: 2, retryBackoffMs: 1000, deadLetterRetentionMs: 14 * 86_400_000 });
    expect(() =>
      parseConfig(`
functions:
  "bad name": { handler: orders }
apis:
  - name: a
    routes:
      GET /x: { integration: { type: function, function: "no/slashes" } }
`),
    ).toThrow(/functions.*function name|handler/s);
  });
});
