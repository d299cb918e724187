// infra/terraform checked offline: every .tf file parsed with HashiCorp's HCL parser (@cdktf/hcl2json, Go
// compiled to WASM), then what `terraform validate` and a reviewer would check. Providers cannot be
// downloaded here, so provider schemas (attribute names and types) are left to `terraform plan`.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, WebSocketApiSettings, loadConfig } from '@turnpike/config';
import { TURNPIKE_BIN } from '@turnpike/testing';
import { commandTokens, ingressRules, loadModules, openIngressProblems, referenceProblems, type TfModule } from './hcl.js';
import { commandProblems } from './cli.js';
import { managementStatus, startReadyManagement } from './management.js';

const ROOT = resolve(import.meta.dirname, '../../infra/terraform');
const EXAMPLE = join(ROOT, 'examples/aws');
const SCHEMA_DEFAULTS = Gateway.parse({});
const WS_DEFAULTS = WebSocketApiSettings.parse({ routes: {} });
/** The idle timeout of an NLB TLS listener, which AWS does not let anyone change. */
const NLB_TLS_IDLE_SECONDS = 350;

let modules: Map<string, TfModule>;
const mod = (name: string) => modules.get(join(ROOT, 'modules', name))!;
const res = (m: TfModule, id: string) => {
  const r = m.resources.get(id);
  if (!r) throw new Error(`${id} missing in ${m.dir}`);
  return r;
};
const varDefault = (m: TfModule, name: string) => m.variables.get(name)?.default;

beforeAll(async () => {
  modules = await loadModules(ROOT);
});

describe('infra/terraform', () => {
  it('has the five modules and the AWS example, every file parsing', () => {
    for (const name of ['network', 'redis', 'edge', 'worker', 'observability']) expect(modules.has(join(ROOT, 'modules', name)), name).toBe(true);
    expect(modules.get(EXAMPLE)?.moduleCalls.size).toBeGreaterThanOrEqual(5);
  });

  it('declares every var.* it uses and uses every variable, local, resource, module input and output it names', () => {
    expect(referenceProblems(modules)).toEqual([]);
  });

  it('admits the internet on the NLB listener only; management and Redis ports from their peers only', () => {
    const network = mod('network');
    expect(openIngressProblems(modules, new Set(['aws_vpc_security_group_ingress_rule.nlb_listener']))).toEqual([]);
    const listener = res(network, 'aws_vpc_security_group_ingress_rule.nlb_listener');
    expect(listener.security_group_id).toBe('${aws_security_group.nlb.id}');
    expect([listener.from_port, listener.to_port]).toEqual(['${var.listener_port}', '${var.listener_port}']);

    const rules = ingressRules(modules);
    const toManagement = rules.filter((r) => r.fromPort === '${var.management_port}');
    expect(toManagement.map((r) => r.id)).toEqual(['aws_vpc_security_group_ingress_rule.edge_management_from_nlb']);
    expect(toManagement[0]?.source).toBe('${aws_security_group.nlb.id}');
    const toRedis = rules.filter((r) => r.body.security_group_id === '${aws_security_group.redis.id}');
    expect(toRedis.map((r) => r.source).sort()).toEqual(['${aws_security_group.edge.id}', '${aws_security_group.worker.id}']);
    expect(toRedis.every((r) => r.cidrs.length === 0)).toBe(true);
  });

  it('runs Redis with TLS, encryption at rest, an AUTH token from Secrets Manager, multi-AZ failover', () => {
    const redis = mod('redis');
    const group = res(redis, 'aws_elasticache_replication_group.this');
    expect(group).toMatchObject({ transit_encryption_enabled: true, transit_encryption_mode: 'required', at_rest_encryption_enabled: true, automatic_failover_enabled: true, multi_az_enabled: true });
    expect(group.auth_token).toBe('${random_password.auth_token.result}');
    expect(res(redis, 'aws_secretsmanager_secret_version.auth_token').secret_string).toBe('${random_password.auth_token.result}');
    expect(String(res(redis, 'aws_secretsmanager_secret_version.url').secret_string)).toMatch(/^rediss:\/\//);
    expect(varDefault(redis, 'replicas')).toBeGreaterThanOrEqual(1);
    // BullMQ's jobs must never be evicted.
    expect(res(redis, 'aws_elasticache_parameter_group.this').parameter).toContainEqual({ name: 'maxmemory-policy', value: 'noeviction' });
  });

  it('starts the containers with commands and options `turnpike --help` accepts', () => {
    const edge = commandTokens(mod('edge').locals.get('command'));
    const worker = commandTokens(mod('worker').locals.get('command'));
    const adminDefinitions = String(res(modules.get(EXAMPLE)!, 'aws_ecs_task_definition.admin').container_definitions);
    const admin = commandTokens(/command\s*=\s*(\[[^\]]*\])/.exec(adminDefinitions)?.[1] ?? '');
    expect(commandProblems('edge module', edge)).toEqual([]);
    expect(commandProblems('worker module', worker)).toEqual([]);
    expect(commandProblems('example admin task', admin)).toEqual([]);
    // The ports the edge binds are the ones the load balancer and security groups use.
    expect(edge[edge.indexOf('--port') + 1]).toBe('=var.api_port');
    expect(edge[edge.indexOf('--management-port') + 1]).toBe('=var.management_port');
    expect(worker).toEqual(expect.arrayContaining(['--functions', '--concurrency', '--lock-ms']));
    // The config file the commands name is where the init container writes it.
    const config = mod('config');
    expect(config.locals.get('config_path')).toBe('/etc/turnpike/turnpike.yaml');
    expect(edge[edge.indexOf('--config') + 1]).toBe('=var.config.config_path');
  });

  it('uses the config schema\'s default ports and grace; keeps WebSockets alive through the NLB', () => {
    expect(SCHEMA_DEFAULTS.listen.port).toBe(8080);
    for (const m of [mod('network'), mod('edge')]) {
      expect(varDefault(m, 'api_port'), m.dir).toBe(SCHEMA_DEFAULTS.listen.port);
      expect(varDefault(m, 'management_port'), m.dir).toBe(SCHEMA_DEFAULTS.management.port);
    }
    expect(varDefault(mod('network'), 'redis_port')).toBe(Number(new URL(SCHEMA_DEFAULTS.redis.url).port));
    expect(varDefault(mod('redis'), 'port')).toBe(Number(new URL(SCHEMA_DEFAULTS.redis.url).port));
    const edge = mod('edge');
    expect(varDefault(edge, 'shutdown_grace_seconds')).toBe(SCHEMA_DEFAULTS.shutdownGraceMs / 1000);
    expect(Number(varDefault(edge, 'deregistration_delay_seconds'))).toBeGreaterThanOrEqual(SCHEMA_DEFAULTS.shutdownGraceMs / 1000);
    // A TLS listener drops flows idle for 350 s (fixed by AWS), shorter than a WebSocket API's idle timeout
    // (websocket.idleTimeoutMs, 600 s by default): the edge's uWS pings must keep idle connections alive.
    expect(WS_DEFAULTS.idleTimeoutMs).toBeGreaterThan(NLB_TLS_IDLE_SECONDS * 1000);
    const behavior = readFileSync(join(import.meta.dirname, '../../services/edge/src/websocket/gateway.ts'), 'utf8');
    expect(behavior).toMatch(/sendPingsAutomatically: true/);
    expect(behavior).toMatch(/\bidleTimeout: node\.pingIntervalSeconds,/);
    expect(SCHEMA_DEFAULTS.websocket.pingIntervalSeconds).toBeLessThan(NLB_TLS_IDLE_SECONDS);
    expect(res(edge, 'aws_lb_listener.tls').protocol).toBe('TLS');
    expect(res(edge, 'aws_lb_target_group.edge')).toMatchObject({ preserve_client_ip: 'true', target_type: 'ip', protocol: 'TCP', deregistration_delay: '${var.deregistration_delay_seconds}' });
  });

  it('deploys an example config that is valid, binds the default ports and exposes /readyz to the NLB', () => {
    const file = join(EXAMPLE, 'turnpike.yaml');
    expect(execFileSync(process.execPath, [TURNPIKE_BIN, 'validate', '--config', file], { encoding: 'utf8' })).toMatch(/valid/);
    const gateway = loadConfig(file).gateway;
    expect(gateway.listen.port).toBe(SCHEMA_DEFAULTS.listen.port);
    expect(gateway.management.port).toBe(SCHEMA_DEFAULTS.management.port);
    // Loopback (the schema's default) would fail every NLB health check.
    expect(gateway.management.host).toBe('0.0.0.0');
  });

  describe('health checks', () => {
    let server: Awaited<ReturnType<typeof startReadyManagement>>;
    beforeAll(async () => {
      server = await startReadyManagement();
    });
    afterAll(() => server.close());

    it('probe a path the management listener serves, on the management port', async () => {
      const [check] = res(mod('edge'), 'aws_lb_target_group.edge').health_check as Record<string, unknown>[];
      assert.isDefined(check);
      expect(check).toMatchObject({ protocol: 'HTTP', port: '${tostring(var.management_port)}', matcher: '200' });
      expect(await managementStatus(server, String(check.path))).toBe(200);
      expect(await managementStatus(server, '/ready')).toBe(404); // the check above can fail
    });
  });

  it('reports what it is meant to catch, on a module written wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-tf-'));
    try {
      mkdirSync(join(dir, 'child'));
      writeFileSync(join(dir, 'child/main.tf'), 'variable "port" {\n  type = number\n}\nvariable "unused" {\n  default = 1\n}\nresource "aws_security_group" "open" {\n  ingress {\n    from_port   = var.port\n    to_port     = var.port\n    protocol    = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n');
      writeFileSync(join(dir, 'main.tf'), 'module "child" {\n  source = "./child"\n  prot   = var.missing\n}\noutput "x" {\n  value = "${module.child.nope}-${aws_lb.gone.arn}"\n}\n');
      const bad = await loadModules(dir);
      expect(referenceProblems(bad)).toEqual(
        expect.arrayContaining([
          expect.stringContaining('var.missing is not declared'),
          expect.stringContaining('variable "unused" is declared but never used'),
          expect.stringContaining('input "prot" is not a variable'),
          expect.stringContaining('required input "port" is not given'),
          expect.stringContaining('module.child.nope is not an output'),
          expect.stringContaining('aws_lb.gone is not a resource'),
        ]),
      );
      expect(openIngressProblems(bad, new Set())).toEqual([expect.stringContaining('aws_security_group.open (inline ingress) admits 0.0.0.0/0')]);
      expect(commandProblems('bad', ['edge', '--config', 'x', '--listen', '8080'])).toEqual([expect.stringContaining('has no option --listen')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The Terraform CLI is not part of the project's toolchain (and its providers cannot be downloaded
  // here); where a developer has it, the files must also be in its canonical format.
  const terraform = spawnSync('terraform', ['version'], { encoding: 'utf8' });
  it.skipIf(terraform.status !== 0)('is formatted as `terraform fmt` writes it (runs only where the terraform CLI is installed)', () => {
    const fmt = spawnSync('terraform', ['fmt', '-check', '-recursive', '-diff', ROOT], { encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' } });
    expect(fmt.stdout + fmt.stderr.replace(/[\s\S]*?CLI configuration[\s\S]*?╵\n?/, '')).toBe('');
    expect(fmt.status).toBe(0);
  });
});
