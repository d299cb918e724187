import { afterEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { REPORT_WINDOW_MS, RetriedWrites } from '../../src/websocket/retriedWrites.js';

// The registry's write retries on their own: what a storm of failing writes logs and counts.
function logged() {
  const lines: { level: number; msg: string; writes?: number }[] = [];
  const sink = new Writable({
    write(line: Buffer, _enc, done) {
      lines.push(JSON.parse(line.toString()));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, sink) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('registry write retries', () => {
  it('retries every failed write until it lands, counts every failure, and logs a storm of them once per window with the count', async () => {
    vi.useFakeTimers();
    const { lines, logger } = logged();
    let failures = 0;
    const writes = new RetriedWrites(logger, () => failures++);
    const landed = new Set<number>();
    const failOnce = (i: number) => {
      let attempts = 0;
      return () => (attempts++ === 0 ? Promise.reject(new Error('Command timed out')) : Promise.resolve(landed.add(i)));
    };
    for (let i = 0; i < 1_000; i++) writes.run('register', `c${i}`, () => true, failOnce(i));
    await vi.advanceTimersByTimeAsync(1_000);

    expect(landed.size).toBe(1_000);
    expect(failures).toBe(1_000);
    const warn = () => lines.filter((l) => l.level === 40);
    const info = () => lines.filter((l) => l.level === 30);
    expect(warn().map((l) => l.writes)).toEqual([1]);
    expect(info().map((l) => l.writes)).toEqual([1]);

    // A window later, the next failure reports the ones kept quiet.
    await vi.advanceTimersByTimeAsync(REPORT_WINDOW_MS);
    writes.run('register', 'late', () => true, failOnce(1_000));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(warn().map((l) => l.writes)).toEqual([1, 1_000]);
    expect(info().map((l) => l.writes)).toEqual([1, 1_000]);
    expect(landed.size).toBe(1_001);
  });

  it('stops retrying a write nobody wants any more, and everything once stopped', async () => {
    vi.useFakeTimers();
    const { logger } = logged();
    const writes = new RetriedWrites(logger, () => {});
    let attemptsClosed = 0;
    let attemptsStopped = 0;
    let open = true;
    writes.run('register', 'closed', () => open, () => (attemptsClosed++, Promise.reject(new Error('down'))));
    writes.run('unregister', 'stopped', () => true, () => (attemptsStopped++, Promise.reject(new Error('down'))));
    await vi.advanceTimersByTimeAsync(500);
    open = false;
    writes.stop();
    const [closed, stopped] = [attemptsClosed, attemptsStopped];
    await vi.advanceTimersByTimeAsync(10_000);
    expect(closed).toBeGreaterThan(1);
    expect(stopped).toBeGreaterThan(1);
    expect([attemptsClosed, attemptsStopped]).toEqual([closed, stopped]);
  });
});
