// Client IPs through the load balancer. infra/ keeps them with the NLB's client IP preservation
// (preserve_client_ip on the target group; externalTrafficPolicy: Local on Kubernetes): the NLB rewrites
// only the destination, so the edge's socket sees the client's own address. This test puts clients at
// their own addresses in a network namespace and checks that everything keyed on the client IP sees
// them: identity.sourceIp (passed to the upstream and written to the access log), X-Forwarded-For, and
// per-IP throttling, whose buckets must tell two clients apart.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_REDIS_URL, deletePrefix, echoHandler, spawnTurnpike, startUpstream, testPrefix, type TurnpikeProcess, type Upstream } from '@turnpike/testing';

const NS = `tpcip-${process.pid}`;
const HOST_IF = `tpc${process.pid}h`;
const NS_IF = `tpc${process.pid}n`;

/** Why this machine cannot run the test, or null when it can (root, iproute2, namespaces allowed). */
function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add)';
  const probe = spawnSync('ip', ['netns', 'add', NS], { encoding: 'utf8' });
  if (probe.error) return `iproute2's ip is not installed (${probe.error.message})`;
  if (probe.status !== 0) return `ip netns add is not permitted here: ${probe.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', NS]);
  return null;
}
const unavailable = netnsUnavailable();

/** A /24 in 10.200.0.0/16 that no interface on this machine uses yet. */
function freeSubnet(): string {
  for (let i = 0; i < 250; i++) {
    const third = ((process.pid + i) % 250) + 1;
    if (execFileSync('ip', ['-o', 'addr', 'show', 'to', `10.200.${third}.0/24`], { encoding: 'utf8' }).trim() === '') return `10.200.${third}`;
  }
  throw new Error('no free /24 in 10.200.0.0/16');
}

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

interface Reply {
  status: number;
  body: string;
}

/** GET `url` `count` times, one after another, from `localAddress` inside the namespace (asynchronously: the upstream runs in this process). */
async function requestFromNamespace(url: string, localAddress: string, count: number, headers: Record<string, string> = {}): Promise<Reply[]> {
  const script = `
    const http = require('node:http');
    const [url, localAddress, count, headers] = process.argv.slice(1);
    (async () => {
      const out = [];
      for (let i = 0; i < Number(count); i++) {
        out.push(await new Promise((resolve, reject) => {
          http.get(url, { localAddress, agent: false, headers: JSON.parse(headers) }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode, body }));
          }).on('error', reject);
        }));
      }
      process.stdout.write(JSON.stringify(out));
    })();`;
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', NS, process.execPath, '-e', script, url, localAddress, String(count), JSON.stringify(headers)], { encoding: 'utf8', timeout: 20_000 });
  return JSON.parse(stdout) as Reply[];
}

/** Resolves once the process has printed `text` (access-log lines are written after the response). */
function printed(p: TurnpikeProcess, text: string): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!p.output().includes(text)) return;
      p.proc.stdout!.off('data', check);
      resolve();
    };
    p.proc.stdout!.on('data', check);
    check();
  });
}

// Skipped, with the reason in its title, only where network namespaces cannot be made (not root, no iproute2); CI runs as root.
describe.skipIf(unavailable !== null)(`client IPs reach the edge${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let subnet: string;
  let upstream: Upstream;
  let edge: TurnpikeProcess;
  let url: string;
  const prefix = testPrefix('clientip');
  const dir = mkdtempSync(join(tmpdir(), 'tp-clientip-'));

  beforeAll(async () => {
    // The clients' namespace, joined to this one by a veth pair; only 10.200.x.y addresses on it.
    subnet = freeSubnet();
    ip('netns', 'add', NS);
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
    ip('link', 'set', NS_IF, 'netns', NS);
    ip('addr', 'add', `${subnet}.1/24`, 'dev', HOST_IF);
    ip('link', 'set', HOST_IF, 'up');
    ip('-n', NS, 'addr', 'add', `${subnet}.2/24`, 'dev', NS_IF);
    ip('-n', NS, 'addr', 'add', `${subnet}.3/24`, 'dev', NS_IF);
    ip('-n', NS, 'link', 'set', NS_IF, 'up');
    ip('-n', NS, 'link', 'set', 'lo', 'up');

    upstream = await startUpstream(echoHandler);
    const config = join(dir, 'turnpike.yaml');
    writeFileSync(
      config,
      `turnpike: 1
gateway:
  listen: { host: ${subnet}.1, port: 0 }
  management: { host: 127.0.0.1, port: 0 }
  redis: { url: "${SHARED_REDIS_URL}", keyPrefix: ${prefix} }
  throttle:
    perClientIp: { rateLimit: 0.01, burstLimit: 3 }
  accessLog: { destination: stdout }
apis:
  - name: clientip
    routes:
      GET /echo:
        integration:
          type: http_proxy
          uri: ${upstream.url}/echo
          requestHeaders: { x-source-ip: "\${context.identity.sourceIp}" }
`,
    );
    edge = await spawnTurnpike(['edge', '--config', config]);
    url = `http://${subnet}.1:${String(edge.info.port)}/echo`;
  });

  afterAll(async () => {
    await edge?.stop();
    await upstream?.close();
    spawnSync('ip', ['netns', 'del', NS]);
    spawnSync('ip', ['link', 'del', HOST_IF]);
    rmSync(dir, { recursive: true, force: true });
    await deletePrefix(SHARED_REDIS_URL, prefix);
  });

  it('passes the client address as identity.sourceIp, appends it to X-Forwarded-For, and throttles each client on its own', async () => {
    // A client-sent X-Forwarded-For is kept but not believed: the socket's address is appended.
    const [first] = await requestFromNamespace(url, `${subnet}.2`, 1, { 'x-forwarded-for': '198.51.100.9' });
    expect(first!.status).toBe(200);
    const seen = (JSON.parse(first!.body) as { headers: Record<string, string> }).headers;
    expect(seen['x-source-ip']).toBe(`${subnet}.2`);
    expect(seen['x-forwarded-for']).toBe(`198.51.100.9, ${subnet}.2`);
    await printed(edge, `"ip":"${subnet}.2"`); // identity.sourceIp in the access log

    // Burst 3 per client IP: .2 has used one, so two more pass and the next is refused...
    expect((await requestFromNamespace(url, `${subnet}.2`, 3)).map((r) => r.status)).toEqual([200, 200, 429]);
    // ...while .3, another client behind the same load balancer, has its own bucket.
    const [other] = await requestFromNamespace(url, `${subnet}.3`, 1);
    expect(other!.status).toBe(200);
    expect((JSON.parse(other!.body) as { headers: Record<string, string> }).headers['x-source-ip']).toBe(`${subnet}.3`);
  });
  it('would see the load balancer instead without client IP preservation (a TCP relay in between)', async () => {
    // What an NLB with preservation off (or any L4 proxy) does: a new connection from its own address.
    const relay = createServer((client) => {
      const toEdge = createConnection({ host: `${subnet}.1`, port: Number(edge.info.port), localAddress: `${subnet}.1` });
      client.pipe(toEdge).pipe(client);
      client.on('error', () => toEdge.destroy());
      toEdge.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, `${subnet}.1`, resolve));
    try {
      const relayed = `http://${subnet}.1:${(relay.address() as AddressInfo).port}/echo`;
      const [reply] = await requestFromNamespace(relayed, `${subnet}.3`, 1);
      expect((JSON.parse(reply!.body) as { headers: Record<string, string> }).headers['x-source-ip']).toBe(`${subnet}.1`);
    } finally {
      await new Promise((resolve) => relay.close(resolve));
    }
  });
});
