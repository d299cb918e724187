import autocannon from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_REDIS_URL, spawnTurnpike, type TurnpikeProcess } from '@turnpike/testing';
import { mockApi, putAndDeploy, startControlPlane, type ControlPlane } from './fixtures.js';

/**
 * Real edge processes following the control plane: started before and after a deploy they agree, every
 * deploy reaches all of them within a second, and a hundred deploys under load drop nothing.
 */

let cp: ControlPlane;
const edges: TurnpikeProcess[] = [];

async function startEdge(): Promise<{ port: number; proc: TurnpikeProcess }> {
  const proc = await spawnTurnpike(['edge', '--control', SHARED_REDIS_URL, '--key-prefix', cp.prefix, '--port', '0', '--management-port', '0', '--control-poll-ms', '1000']);
  edges.push(proc);
  return { port: proc.info.port as number, proc };
}

async function which(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/prod/which`);
  return `${r.status} ${await r.text()}`;
}

beforeAll(async () => {
  cp = await startControlPlane('edges');
});
afterAll(async () => {
  await Promise.all(edges.map((e) => e.stop()));
  await cp?.close();
});

describe('several edge processes', () => {
  it('agree whether started before or after a deploy, and all serve a new deploy within a second', async () => {
    await putAndDeploy(cp.client, 'shop', mockApi('one'));
    const before = await startEdge();
    expect(await which(before.port)).toBe('200 one');
    await putAndDeploy(cp.client, 'shop', mockApi('two'));
    const after = await startEdge();
    expect(await which(after.port)).toBe('200 two');
    // The edge started first follows the deploy through pub/sub; poll its answer (no event crosses processes).
    const until = Date.now() + 1000;
    while ((await which(before.port)) !== '200 two' && Date.now() < until);
    expect(await which(before.port)).toBe('200 two');

    const t0 = performance.now();
    await putAndDeploy(cp.client, 'shop', mockApi('three'));
    const deployed = performance.now();
    const seen = await Promise.all(
      [before, after].map(async (e) => {
        while ((await which(e.port)) !== '200 three') if (performance.now() - t0 > 5000) return Infinity;
        return performance.now() - deployed;
      }),
    );
    console.log(`a deploy reached both edges ${seen.map((ms) => ms.toFixed(0)).join(' and ')} ms after the admin API answered`);
    for (const ms of seen) expect(ms).toBeLessThan(1000);
  });

  it('drops no request while deploying 100 times under load; p99 during deploys reported beside p99 without', async () => {
    const { port } = await startEdge();
    const load = (durationSec: number) => {
      let instance: autocannon.Instance;
      const done = new Promise<autocannon.Result>((resolve, reject) => {
        instance = autocannon({ url: `http://127.0.0.1:${port}/prod/which`, connections: 8, pipelining: 1, duration: durationSec }, (err, result) => (err ? reject(err) : resolve(result)));
      });
      return { done, stop: () => instance.stop() };
    };
    const quiet = await load(4).done;

    const busy = load(60);
    let deploys = 0;
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) {
      await putAndDeploy(cp.client, 'shop', mockApi(`deploy ${i}`));
      deploys++;
    }
    const deploySeconds = (performance.now() - t0) / 1000;
    // Let the last deploy reach the edge under load too.
    const until = Date.now() + 2000;
    while ((await which(port)) !== '200 deploy 99' && Date.now() < until);
    busy.stop();
    const during = await busy.done;
    console.log(
      `zero-drop: ${deploys} deploys in ${deploySeconds.toFixed(1)} s under load; ${during.requests.total} requests, ${during.errors} errors, ${during.non2xx} non-2xx, ${during.timeouts} timeouts; ` +
        `p99 ${during.latency.p99} ms during deploys vs ${quiet.latency.p99} ms without (p50 ${during.latency.p50} vs ${quiet.latency.p50} ms; ${Math.round(during.requests.average)} vs ${Math.round(quiet.requests.average)} req/s)`,
    );
    expect(await which(port)).toBe('200 deploy 99');
    expect(during.requests.total).toBeGreaterThan(1000);
    expect(during.errors).toBe(0);
    expect(during.timeouts).toBe(0);
    expect(during.non2xx).toBe(0);
    expect(quiet.errors + quiet.non2xx).toBe(0);
  });
});
