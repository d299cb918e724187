import { fileURLToPath } from 'node:url';
import { afterAll, assert, describe, expect, it } from 'vitest';
import { spawnTurnpike, testPrefix, type TurnpikeProcess } from '@turnpike/testing';
import { eventually, request } from '../../services/worker/test/helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/turnpike.yaml', import.meta.url));
const started: TurnpikeProcess[] = [];

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('turnpike edge --processes N', () => {
  it('runs N edges on one port, restarts one killed, and drains them all on SIGTERM', async () => {
    const sup = await spawnTurnpike(['edge', '--config', EXAMPLE, '--processes', '2', '--port', '0', '--management-port=-1', '--key-prefix', testPrefix('sup')], { timeoutMs: 30_000 });
    started.push(sup);
    const port = sup.info.port as number;
    const pids = sup.info.processes as number[];
    expect(pids).toHaveLength(2);
    const [firstPid, secondPid] = pids;
    assert.isDefined(firstPid);
    assert.isDefined(secondPid);
    expect(pids.every(alive)).toBe(true);
    // Each child answers on the shared port (a new connection per request lets the kernel spread them).
    const health = () => request(port, { path: '/health' }).then((r) => r.status);
    expect(await Promise.all(Array.from({ length: 10 }, health))).toEqual(Array(10).fill(200));

    process.kill(firstPid, 'SIGKILL');
    const restarted = await eventually(() => {
      const line = sup.output().split('\n').find((l) => l.startsWith('{"event":"edge-restarted"'));
      return line ? (JSON.parse(line) as { process: number; pid: number }) : undefined;
    }, 'the killed edge to be restarted', 10_000);
    expect(restarted.process).toBe(0);
    expect(restarted.pid).not.toBe(pids[0]);
    expect(sup.output()).toContain('"event":"edge-exited","process":0,"code":null,"signal":"SIGKILL","restartInMs":100');
    expect(alive(restarted.pid)).toBe(true);
    expect(await Promise.all(Array.from({ length: 10 }, health))).toEqual(Array(10).fill(200));

    expect(await sup.stop('SIGTERM')).toBe(0);
    expect(sup.output()).toContain('{"event":"stopped","signal":"SIGTERM","clean":true}');
    expect([restarted.pid, secondPid].filter(alive)).toEqual([]);
  });

  it('exits 1 when the children cannot start, naming why', async () => {
    const holder = await spawnTurnpike(['edge', '--config', EXAMPLE, '--port', '0', '--management-port=-1', '--key-prefix', testPrefix('sup'), '--port-group', 'other']);
    started.push(holder);
    const sup = spawnTurnpike(['edge', '--config', EXAMPLE, '--processes', '2', '--port', String(holder.info.port), '--management-port=-1', '--key-prefix', testPrefix('sup')]);
    await expect(sup).rejects.toThrow(/exited \(1\) before ready[\s\S]*in use \(EADDRINUSE\) by another Turnpike gateway \(port group "other"\)[\s\S]*edge process 0 exited \(1\) before listening/);
  });
});
