// infra/k8s checked offline: the manifests parsed with `yaml`, then what a reviewer would check against the
// CLI, the config schema and the management listener. `kubectl kustomize` runs where kubectl is installed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, loadConfig } from '@turnpike/config';
import { commandProblems } from './cli.js';
import { managementStatus, startReadyManagement } from './management.js';

const DIR = resolve(import.meta.dirname, '../../infra/k8s');
const DEFAULTS = Gateway.parse({});

// Kubernetes objects, checked field by field below.
type Obj = any;
const kustomization: Obj = parseYaml(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'));
const objects: Obj[] = (kustomization.resources as string[]).flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS();
  }),
);
const find = (kind: string, name: string): Obj => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in infra/k8s`);
  return o;
};
const edge = find('Deployment', 'turnpike-edge');
const worker = find('Deployment', 'turnpike-worker');
const service = find('Service', 'turnpike-edge');
const edgeContainer = edge.spec.template.spec.containers[0];
const portOf = (container: Obj, name: string): number => container.ports.find((p: Obj) => p.name === name)?.containerPort;
const flag = (args: string[], name: string) => args[args.indexOf(name) + 1];
const configFile = join(DIR, kustomization.configMapGenerator[0].files[0]);
const config = loadConfig(configFile);

describe('infra/k8s', () => {
  it('starts edge and worker with commands and options `turnpike --help` accepts, reading the generated ConfigMap', () => {
    expect(commandProblems('edge Deployment', edgeContainer.args)).toEqual([]);
    expect(commandProblems('worker Deployment', worker.spec.template.spec.containers[0].args)).toEqual([]);
    for (const d of [edge, worker]) {
      const c = d.spec.template.spec.containers[0];
      const mount = c.volumeMounts.find((m: Obj) => m.name === 'config');
      expect(flag(c.args, '--config')).toBe(`${mount.mountPath}/turnpike.yaml`);
      expect(d.spec.template.spec.volumes).toContainEqual({ name: 'config', configMap: { name: kustomization.configMapGenerator[0].name } });
    }
  });

  it('binds the config schema\'s default ports, the config file agreeing', () => {
    expect(Number(flag(edgeContainer.args, '--port'))).toBe(DEFAULTS.listen.port);
    expect(Number(flag(edgeContainer.args, '--management-port'))).toBe(DEFAULTS.management.port);
    expect(portOf(edgeContainer, 'api')).toBe(DEFAULTS.listen.port);
    expect(portOf(edgeContainer, 'management')).toBe(DEFAULTS.management.port);
    expect(config.gateway.listen.port).toBe(DEFAULTS.listen.port);
    expect(config.gateway.management.port).toBe(DEFAULTS.management.port);
    // The kubelet probes the pod's address: a loopback management listener would fail every probe.
    expect(config.gateway.management.host).toBe('0.0.0.0');
  });

  it('exposes the API port alone through a LoadBalancer Service that keeps client IPs', () => {
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.externalTrafficPolicy).toBe('Local');
    expect(service.spec.ports.map((p: Obj) => p.targetPort)).toEqual(['api']);
    expect(service.spec.selector).toEqual(edge.spec.template.metadata.labels);
    const a = service.metadata.annotations;
    expect(a['service.beta.kubernetes.io/aws-load-balancer-target-group-attributes']).toContain('preserve_client_ip.enabled=true');
    expect(Number(a['service.beta.kubernetes.io/aws-load-balancer-healthcheck-port'])).toBe(portOf(edgeContainer, 'management'));
    const delay = Number(/deregistration_delay\.timeout_seconds=(\d+)/.exec(a['service.beta.kubernetes.io/aws-load-balancer-target-group-attributes'])?.[1]);
    expect(delay).toBeGreaterThanOrEqual(config.gateway.shutdownGraceMs / 1000);
  });

  it('drains before SIGTERM and gives the edge its shutdown grace', () => {
    const preStop = edgeContainer.lifecycle.preStop.exec.command as string[];
    expect(preStop[0]).toBe('sleep');
    expect(edge.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(Number(preStop[1]) + config.gateway.shutdownGraceMs / 1000);
    expect(edge.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('has a PodDisruptionBudget and an HPA for each Deployment', () => {
    for (const d of [edge, worker]) {
      const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && JSON.stringify(o.spec.selector.matchLabels) === JSON.stringify(d.spec.template.metadata.labels));
      expect(pdb, `PDB for ${d.metadata.name}`).toBeDefined();
      const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.name === d.metadata.name);
      expect(hpa?.spec.scaleTargetRef.kind).toBe('Deployment');
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    }
  });

  describe('probes', () => {
    let server: Awaited<ReturnType<typeof startReadyManagement>>;
    beforeAll(async () => {
      server = await startReadyManagement();
    });
    afterAll(() => server.close());

    it('hit paths the management listener serves, on the management port', async () => {
      const probes = [edgeContainer.readinessProbe, edgeContainer.livenessProbe, edgeContainer.startupProbe];
      expect(edgeContainer.readinessProbe.httpGet.path).toBe('/readyz');
      for (const p of probes) {
        expect(p.httpGet.port).toBe('management');
        expect(await managementStatus(server, p.httpGet.path), p.httpGet.path).toBe(200);
      }
      const lbPath = service.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-healthcheck-path'];
      expect(await managementStatus(server, lbPath)).toBe(200);
    });
  });

  // kubectl is not in Debian's packages this project reaches, so CI skips this one; the manifests are
  // still checked above without it. Where a developer has kubectl, kustomize must build them.
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  it.skipIf(kubectl.status !== 0)('builds with `kubectl kustomize` (runs only where kubectl is installed)', () => {
    const out = spawnSync('kubectl', ['kustomize', DIR], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const kinds = parseAllDocuments(out.stdout).map((d) => (d.toJS() as Obj).kind);
    expect(kinds).toEqual(expect.arrayContaining(['Namespace', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']));
  });
});
