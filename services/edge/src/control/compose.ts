import { pinFunctionVersions, type ApiConfig, type StageConfig, type TurnpikeConfig } from '@turnpike/config';
import { deploymentRef, type ControlSnapshot, type DeploymentRecord, type StageRecord } from '@turnpike/redis';

/**
 * The config an edge serves for one control-plane snapshot: the edge's own gateway settings, and for
 * each API one entry per deployment some stage serves, carrying those stages (the route table resolves a
 * request's stage to the entry holding it, and a canary to the entry of its deployment; see
 * router/routeTable.ts). A deployment that is only a canary gets an entry without stages. Functions a
 * deployment holds are invoked by their version (pinFunctionVersions), which workers following the
 * control plane serve.
 */
export function composeConfig(base: TurnpikeConfig, snapshot: ControlSnapshot, deployments: ReadonlyMap<string, DeploymentRecord>): TurnpikeConfig {
  const byApi = new Map<string, Map<string, StageRecord[]>>();
  for (const s of snapshot.stages) {
    let variants = byApi.get(s.api);
    if (!variants) byApi.set(s.api, (variants = new Map()));
    for (const id of s.canary ? [s.deploymentId, s.canary.deploymentId] : [s.deploymentId]) if (!variants.has(id)) variants.set(id, []);
    variants.get(s.deploymentId)!.push(s);
  }
  const apis: ApiConfig[] = [];
  for (const [api, variants] of [...byApi].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const [id, stages] of variants) {
      const d = deployments.get(deploymentRef(api, id));
      if (!d) throw new Error(`deployment ${id} of API ${api} is not loaded`);
      apis.push(pinFunctionVersions({ ...d.definition, name: api, deployment: id, stages: Object.fromEntries(stages.map((s) => [s.name, stageConfig(s)])) }));
    }
  }
  const domains = Object.fromEntries(snapshot.domains.map((d) => [d.domain, d.mappings]));
  return Object.freeze({ ...base, file: `control plane revision ${snapshot.revision}`, apis, domains, warnings: [] });
}

function stageConfig(s: StageRecord): StageConfig {
  return {
    variables: s.variables,
    ...(s.throttle ? { throttle: s.throttle } : {}),
    ...(s.canary ? { canary: { percent: s.canary.percent, variables: s.canary.variables, deployment: s.canary.deploymentId } } : {}),
  };
}
