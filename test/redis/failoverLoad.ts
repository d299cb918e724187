import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { freePort, spawnTurnpike, type TurnpikeProcess } from '@turnpike/testing';
import { eventually, request } from '../../services/worker/test/helpers.js';

/**
 * What the failover tests share: an edge and a worker on a given Redis deployment serving a mock route,
 * a sync function (3 s integration timeout) and an async function that records each invocation; a
 * steady load of 6 clients over the three; and the checks every failover must pass.
 */
export interface Outcome {
  route: string;
  id: string;
  status: number;
  startedAt: number;
  ms: number;
}

export class FailoverDeployment {
  private readonly dir = mkdtempSync(join(tmpdir(), 'tp-failover-'));
  private readonly auditFile = join(this.dir, 'audit.log');
  readonly procs: TurnpikeProcess[] = [];
  port = 0;

  /** `redis` is the YAML of gateway.redis. */
  async start(redis: string): Promise<void> {
    writeFileSync(join(this.dir, 'orders.mjs'), `export const handler = async (e) => ({ statusCode: 200, body: e.body });\n`);
    writeFileSync(join(this.dir, 'audit.mjs'), `import { appendFileSync } from 'node:fs';\nexport const handler = async (e) => { appendFileSync(${JSON.stringify(this.auditFile)}, e.body + '\\n'); };\n`);
    const configFile = join(this.dir, 'turnpike.yaml');
    writeFileSync(
      configFile,
      `
gateway:
  redis: ${redis}
functions:
  orders: { handler: ${this.dir}/orders.handler }
  audit: { handler: ${this.dir}/audit.handler }
apis:
  - name: shop
    stages: { prod: {} }
    routes:
      GET /health: { integration: { type: mock, body: '{"ok":true}' } }
      POST /orders: { integration: { type: function, function: orders, timeoutMs: 3000 } }
      POST /audit: { integration: { type: function, function: audit, invocationType: Event } }
`,
    );
    this.port = await freePort();
    this.procs.push(
      ...(await Promise.all([
        spawnTurnpike(['worker', '--config', configFile, '--concurrency', '2'], { readyEvent: 'ready', timeoutMs: 30_000 }),
        spawnTurnpike(['edge', '--config', configFile, '--port', String(this.port), '--management-port=-1']),
      ])),
    );
  }

  /** Runs 6 clients over the three routes until `during` resolves; resolves with every outcome. */
  async underLoad(during: () => Promise<void>): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    let stop = false;
    let n = 0;
    const routes = [
      { route: 'GET /health', method: 'GET', path: '/prod/health' },
      { route: 'POST /orders', method: 'POST', path: '/prod/orders' },
      { route: 'POST /audit', method: 'POST', path: '/prod/audit' },
    ];
    const client = async () => {
      while (!stop) {
        const r = routes[n % routes.length];
        if (r === undefined) break;
        const id = `r${n++}`;
        const startedAt = Date.now();
        const res = await request(this.port, { method: r.method, path: r.path, body: r.method === 'POST' ? id : undefined }).catch(() => ({ status: 0 }));
        outcomes.push({ route: r.route, id, status: res.status, startedAt, ms: Date.now() - startedAt });
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, client));
    try {
      await during();
    } finally {
      stop = true;
      await load;
    }
    return outcomes;
  }

  /**
   * The checks every failover passes: documented outcomes only (success; 503 for function routes while
   * Redis cannot be asked; 504 for a sync invocation whose job or reply was on the failed master, at its
   * integration timeout), nothing slower than `maxMs`, only successes from `resumedFrom` on (no restart),
   * and every async invocation answered 202 run.
   */
  async expectRecovered(outcomes: Outcome[], resumedFrom: number, maxMs: number): Promise<void> {
    for (const o of outcomes) expect([200, 202, 503, ...(o.route === 'POST /orders' ? [504] : [])]).toContain(o.status);
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(maxMs);
    const after = outcomes.filter((o) => o.startedAt > resumedFrom);
    expect(after.length).toBeGreaterThan(10);
    expect(after.filter((o) => o.status !== 200 && o.status !== 202).map((o) => `${o.route} ${o.status}`)).toEqual([]);
    const accepted = outcomes.filter((o) => o.route === 'POST /audit' && o.status === 202).map((o) => o.id);
    const lines = () => (existsSync(this.auditFile) ? readFileSync(this.auditFile, 'utf8').trim().split('\n') : []);
    const ran = await eventually(() => (accepted.every((id) => lines().includes(id)) ? lines() : undefined), 'every accepted async invocation to run', 20_000).catch(lines);
    expect(accepted.filter((id) => !ran.includes(id))).toEqual([]);
  }

  /** Counts by `route status`, for the figures a test prints. */
  static counts(outcomes: Outcome[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const x of outcomes) counts[`${x.route} ${x.status}`] = (counts[`${x.route} ${x.status}`] ?? 0) + 1;
    return counts;
  }

  async stop(): Promise<void> {
    if (process.env.TP_DEBUG) for (const p of this.procs) console.log(p.output());
    await Promise.all(this.procs.map((p) => p.stop('SIGKILL')));
  }
}
