import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessLogDestinationError, AccessLogWriter, compileAccessLogFormat, type ValueGetter } from '@turnpike/telemetry';

describe('access-log format', () => {
  const values: Record<string, string | number | null> = { requestId: 'r-1', status: 200, 'error.message': null, path: '/a"b\\c\n\u2028', latency: 1.5, empty: '' };
  const resolve = (name: string): ValueGetter<Record<string, string | number | null>> => (v) => v[name];

  it('substitutes $context variables, JSON-escaping values so the line stays valid JSON', () => {
    const line = compileAccessLogFormat('{"id":"$context.requestId","s":$context.status,"p":"$context.path","e":"$context.error.message","x":"$context.empty","l":"$context.latency"}', resolve)(values);
    expect(JSON.parse(line)).toEqual({ id: 'r-1', s: 200, p: '/a"b\\c\n\u2028', e: '-', x: '-', l: '1.5' });
  });

  it('keeps text around and between variables, and a trailing dot as text', () => {
    expect(compileAccessLogFormat('$context.requestId $context.status. done', resolve)(values)).toBe('r-1 200. done');
    expect(compileAccessLogFormat('no variables', resolve)(values)).toBe('no variables');
  });
});

describe('AccessLogWriter', () => {
  it('writes every line, in order, including multi-byte text and a line larger than a chunk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-log-'));
    const w = new AccessLogWriter({ destination: 'logs/a.log', baseDir: dir });
    const big = 'x'.repeat(300 * 1024);
    const expected: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const line = i === 777 ? big : `{"n":${i},"t":"héllo ✓ ${'y'.repeat(i % 50)}"}`;
      expected.push(line);
      w.write(line);
      // Let writes complete now and then, as requests would.
      if (i % 2000 === 0) await new Promise((r) => setImmediate(r));
    }
    await w.close();
    w.write('after close is ignored');
    const lines = readFileSync(join(dir, 'logs/a.log'), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.length).toBe(expected.length);
    expect(lines).toEqual(expected);
    expect(w.dropped).toBe(0);
  });

  it('drops and counts lines beyond maxBufferedBytes instead of growing without bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-log-'));
    let dropped = 0;
    const w = new AccessLogWriter({ destination: join(dir, 'b.log'), maxBufferedBytes: 1024 * 1024, onDrop: (n) => (dropped += n) });
    // Written in one synchronous burst: nothing can reach the file meanwhile, so the buffer limit must act.
    const line = 'z'.repeat(1000);
    for (let i = 0; i < 5000; i++) w.write(line);
    await w.close();
    const written = readFileSync(join(dir, 'b.log'), 'utf8').split('\n').length - 1;
    expect(dropped).toBeGreaterThan(0);
    expect(written + dropped).toBe(5000);
    expect(w.dropped).toBe(dropped);
  });

  it('refuses a destination that cannot be opened, with a coded error naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-log-'));
    expect(() => new AccessLogWriter({ destination: dir })).toThrow(AccessLogDestinationError);
    expect(() => new AccessLogWriter({ destination: dir })).toThrow(`access log destination ${dir} cannot be opened: EISDIR`);
  });
});
