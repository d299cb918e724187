import { describe, expect, it } from 'vitest';
import { decodeReply, decodeSyncJob, encodeReply, encodeSyncJob, functionNameOf, functionOfQueue, functionQueueKey, functionQueueName } from '@turnpike/codec';

describe('invocation wire format', () => {
  it('round-trips replies compactly', () => {
    const reply = { seq: 123456, status: 'ok' as const, payload: '{"statusCode":200,"body":"ok"}', errorType: null };
    const buf = encodeReply(reply);
    expect(decodeReply(buf)).toEqual(reply);
    // The envelope adds a handful of bytes to the result's JSON text.
    expect(buf.length).toBeLessThan(reply.payload.length + 12);
    const failed = { seq: 1, status: 'function_timeout' as const, payload: 'Task timed out after 3.00 seconds', errorType: 'Sandbox.Timedout' };
    expect(decodeReply(encodeReply(failed))).toEqual(failed);
  });

  it('refuses a message that is not a reply', () => {
    expect(() => decodeReply(Buffer.from([0xc0]))).toThrow('malformed function reply');
    expect(() => decodeReply(encodeReply({ seq: 1, status: 'ok', payload: 'x', errorType: null }).subarray(0, 3))).toThrow();
  });

  it('round-trips sync invocations, the event as its JSON text', () => {
    const job = { s: 42, d: 1_790_000_000_000, r: 'tp:reply:{n1}', id: 'req-1', t: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', e: '{"path":"/x","body":null}' };
    const buf = encodeSyncJob(job);
    expect(decodeSyncJob(buf)).toEqual(job);
    expect(buf.length).toBeLessThan(job.e.length + job.r.length + job.id.length + job.t.length + 24);
    expect(decodeSyncJob(encodeSyncJob({ ...job, t: null }))).toEqual({ ...job, t: null });
    expect(() => decodeSyncJob(encodeReply({ seq: 1, status: 'ok', payload: 'x', errorType: null }))).toThrow('malformed sync invocation');
  });

  it('keeps every key of a function queue in its hash slot', () => {
    expect(functionQueueKey('tp', 'orders', 'sync')).toBe('tp:fn:{orders}:sync');
    expect(functionQueueKey('tp', 'orders', 'meta')).toBe('tp:fn:{orders}:meta');
  });

  it('reads function names from names, Lambda ARNs and API Gateway invocation URIs', () => {
    expect(functionNameOf('orders')).toBe('orders');
    expect(functionNameOf('arn:aws:lambda:us-east-1:123456789012:function:orders')).toBe('orders');
    expect(functionNameOf('arn:aws:lambda:us-east-1:123456789012:function:orders:live')).toBe('orders');
    expect(functionNameOf('arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:my-fn_2/invocations')).toBe('my-fn_2');
    expect(functionNameOf('arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${stageVariables.fn}/invocations')).toBeNull();
    expect(functionNameOf('not a name')).toBeNull();
    expect(functionOfQueue(functionQueueName('orders'))).toBe('orders');
    // A deployed function's version (docs/functions.md, "Functions in deployments").
    expect(functionNameOf('orders@3f9a2b1c4d5e')).toBe('orders@3f9a2b1c4d5e');
    expect(functionNameOf('orders@3f9a')).toBeNull();
    expect(functionOfQueue(functionQueueName('orders@3f9a2b1c4d5e'))).toBe('orders@3f9a2b1c4d5e');
    expect(functionOfQueue('{a b}')).toBeNull();
  });
});
