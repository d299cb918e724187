import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClusterFixture } from '@turnpike/testing';
import { functionQueueKey } from '@turnpike/codec';
import { FailoverDeployment } from './failoverLoad.js';

/**
 * An edge and a worker on a 6-node Redis Cluster (3 masters, 3 replicas) under steady load while the
 * master serving the async function's queue fails over to its replica (CLUSTER FAILOVER, the
 * coordinated kind an operator or a managed service runs): documented outcomes only, resumed without a
 * restart, no accepted async invocation lost.
 */
let cluster: RedisClusterFixture;
const deployment = new FailoverDeployment();

beforeAll(async () => {
  cluster = await RedisClusterFixture.start(3, 1);
  await deployment.start(`{ url: "${cluster.url}", keyPrefix: tpf }`);
}, 120_000);

afterAll(async () => {
  await deployment.stop();
  await cluster?.destroy();
});

describe('a deployment on Redis Cluster', () => {
  it('answers promptly through a master failover, resumes on the promoted replica and loses no async invocation', async () => {
    let promotedAt = 0;
    let failoverAt = 0;
    let moved = { from: 0, to: 0 };
    const outcomes = await deployment.underLoad(async () => {
      await new Promise((r) => setTimeout(r, 1_500));
      failoverAt = Date.now();
      moved = await cluster.failoverMasterOf(functionQueueKey('tpf', 'audit', 'meta'));
      promotedAt = Date.now();
      await new Promise((r) => setTimeout(r, 5_000));
    });
    expect(moved.to).not.toBe(moved.from);
    const during = outcomes.filter((o) => o.startedAt >= failoverAt - 500 && o.startedAt <= promotedAt + 2_000);
    console.log(JSON.stringify({ requests: outcomes.length, failoverMs: promotedAt - failoverAt, duringFailover: FailoverDeployment.counts(during), maxMs: Math.max(...outcomes.map((o) => o.ms)) }));
    await deployment.expectRecovered(outcomes, promotedAt + 2_000, 4_500);
  }, 60_000);
});
