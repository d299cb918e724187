import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';
import { RedisServer } from './redis.js';

const cli = (port: number, ...args: string[]): string => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).trim();

/** Polls a condition no event announces (a cluster agreeing on its slots, a sentinel seeing a replica), bounded. */
async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A cluster node on two free ports, its own and its cluster bus's: the bus's default, the port + 10000,
 * is one nothing keeps free (a test run's own outgoing connections took it once). A port taken between
 * the check and the bind is picked again.
 */
export async function startClusterNode(configFile: string, extraArgs: string[] = []): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', configFile, '--cluster-port', String(await freePort()), ...extraArgs]);
    } catch (err) {
      if (attempt >= 5 || !String(err).includes('Address already in use')) throw err;
    }
  }
}

/** A private Redis Cluster on loopback: `masters` masters, each with `replicasPerMaster` replicas. */
export class RedisClusterFixture {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(masters = 3, replicasPerMaster = 0): Promise<RedisClusterFixture> {
    const nodes: RedisServer[] = [];
    const conf = `tp-${process.pid}-${Date.now()}`;
    try {
      for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
        nodes.push(await startClusterNode(`nodes-${conf}-${i}.conf`, ['--cluster-node-timeout', '1000']));
      }
      const f = new RedisClusterFixture(nodes);
      execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'], { stdio: 'ignore' });
      await f.waitHealthy();
      return f;
    } catch (err) {
      // The test never gets the fixture to stop: the nodes started so far would outlive the run.
      await Promise.all(nodes.map((n) => n.stop()));
      throw err;
    }
  }

  /** redis+cluster://... naming every node as a seed. */
  get url(): string {
    return `redis+cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  /** Every node answers and agrees that every slot is served. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    await until('cluster_state:ok on every node', () => this.nodes.every((n) => {
      try {
        return cli(n.port, 'CLUSTER', 'INFO').includes('cluster_state:ok');
      } catch {
        return false;
      }
    }), timeoutMs);
  }

  /** The ports of the current masters. */
  masters(): number[] {
    return this.nodes.filter((n) => {
      try {
        return /^role:master/m.test(cli(n.port, 'INFO', 'replication'));
      } catch {
        return false;
      }
    }).map((n) => n.port);
  }

  /**
   * A coordinated failover (CLUSTER FAILOVER on its replica) of the master serving `key`: the master
   * stops taking writes, the replica catches up and is promoted. Resolves with both ports once the
   * cluster is healthy again.
   */
  async failoverMasterOf(key: string): Promise<{ from: number; to: number }> {
    const [seed] = this.nodes;
    if (seed === undefined) throw new Error('the cluster has no nodes');
    const slot = Number(cli(seed.port, 'CLUSTER', 'KEYSLOT', key));
    // CLUSTER NODES, a line per node: id ip:port@cport flags master-id ping-sent pong-recv epoch link slot...
    const nodes = cli(seed.port, 'CLUSTER', 'NODES').split('\n').filter((l) => l !== '').map((l) => {
      const [id, address = '', flags = '', masterId, , , , , ...slots] = l.split(' ');
      return { id, port: Number(/:(\d+)@/.exec(address)?.[1]), isMaster: flags.includes('master'), masterId, slots };
    });
    const servesSlot = (range: string) => {
      const [from, to = from] = range.split('-').map(Number);
      return from !== undefined && to !== undefined && slot >= from && slot <= to;
    };
    const master = nodes.find((n) => n.isMaster && n.slots.some(servesSlot));
    const replica = master && nodes.find((n) => n.masterId === master.id);
    if (master === undefined || replica === undefined) throw new Error(`no master with a replica serves slot ${slot}`);
    cli(replica.port, 'CLUSTER', 'FAILOVER');
    await until('the replica to be promoted', () => /^role:master/m.test(cli(replica.port, 'INFO', 'replication')));
    await this.waitHealthy();
    return { from: master.port, to: replica.port };
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}

/** A private Sentinel deployment on loopback: one master, one replica, three sentinels. */
export class RedisSentinelFixture {
  private readonly dir = mkdtempSync(join(tmpdir(), 'tp-sentinel-'));

  private constructor(
    readonly master: RedisServer,
    readonly replica: RedisServer,
    readonly sentinels: RedisServer[],
    readonly masterName: string,
  ) {}

  static async start(masterName = 'tpmaster'): Promise<RedisSentinelFixture> {
    const master = await RedisServer.start();
    const replica = await RedisServer.start(['--replicaof', '127.0.0.1', String(master.port)]);
    const sentinels: RedisServer[] = [];
    const f = new RedisSentinelFixture(master, replica, sentinels, masterName);
    for (let i = 0; i < 3; i++) {
      // A sentinel rewrites its config file, so each gets its own.
      const file = join(f.dir, `sentinel-${i}.conf`);
      writeFileSync(file, [`sentinel monitor ${masterName} 127.0.0.1 ${master.port} 2`, `sentinel down-after-milliseconds ${masterName} 1000`, `sentinel failover-timeout ${masterName} 5000`, `sentinel parallel-syncs ${masterName} 1`, ''].join('\n'));
      sentinels.push(await RedisServer.start(['--sentinel'], file));
    }
    await until('the sentinels to see the replica and each other', () =>
      sentinels.every((s) => {
        try {
          const info = cli(s.port, 'SENTINEL', 'MASTER', masterName).split('\n');
          const field = (name: string) => Number(info[info.indexOf(name) + 1]);
          return field('num-slaves') >= 1 && field('num-other-sentinels') >= 2;
        } catch {
          return false;
        }
      }),
    );
    return f;
  }

  get url(): string {
    return `redis+sentinel://${this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${this.masterName}`;
  }

  /** The port of the master the sentinels name now. */
  currentMasterPort(): number {
    const [sentinel] = this.sentinels;
    if (sentinel === undefined) throw new Error('the fixture has no sentinels');
    return this.masterPortNamedBy(sentinel);
  }

  private masterPortNamedBy(sentinel: RedisServer): number {
    return Number(cli(sentinel.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName).split('\n')[1]);
  }

  /** Asks the sentinels to promote the replica, and resolves once they all name the new master. */
  async failover(): Promise<number> {
    const [sentinel] = this.sentinels;
    if (sentinel === undefined) throw new Error('the fixture has no sentinels');
    const before = this.masterPortNamedBy(sentinel);
    cli(sentinel.port, 'SENTINEL', 'FAILOVER', this.masterName);
    await until('the sentinels to name a new master', () => this.sentinels.every((s) => this.masterPortNamedBy(s) !== before));
    return this.currentMasterPort();
  }

  async destroy(): Promise<void> {
    await Promise.all([this.master, this.replica, ...this.sentinels].map((n) => n.destroy()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
