import type { ApiConfig, ThrottleSettingsConfig } from '@turnpike/config';

/**
 * The control plane's records (docs/versions.md). Every mutable record carries a `version` that each
 * change increments by one, checked by compare-and-set; deployments never change once written.
 */

export interface ApiRecord {
  readonly name: string;
  readonly version: number;
  /** A validated API definition: routes, authorizers, CORS... (its `stages` seed new stages' settings). */
  readonly definition: ApiConfig;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface DeploymentRecord {
  readonly id: string;
  readonly api: string;
  /** SHA-256 of the definition's canonical JSON: equal hashes, equal routes. */
  readonly hash: string;
  readonly description: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly definition: ApiConfig;
}

export type DeploymentSummary = Omit<DeploymentRecord, 'definition'>;

export interface CanarySettings {
  readonly deploymentId: string;
  /** Share of the stage's requests the canary serves, 0 to 100. */
  readonly percent: number;
  /** Laid over the stage's variables for canary requests. */
  readonly variables: Readonly<Record<string, string>>;
}

export interface StageRecord {
  readonly api: string;
  readonly name: string;
  readonly version: number;
  readonly deploymentId: string;
  readonly variables: Readonly<Record<string, string>>;
  readonly throttle: ThrottleSettingsConfig | null;
  readonly canary: CanarySettings | null;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

/** One change of a stage, kept newest first: what it pointed at afterwards, and why. */
export interface StageHistoryEntry {
  readonly version: number;
  readonly action: 'deploy' | 'update' | 'rollback' | 'canary-create' | 'canary-promote' | 'canary-delete' | 'delete';
  readonly deploymentId: string;
  readonly canaryDeploymentId: string | null;
  readonly at: string;
  readonly by: string;
}

export interface BasePathMapping {
  readonly api: string;
  readonly stage: string;
}

export interface DomainRecord {
  readonly domain: string;
  readonly version: number;
  /** Base path (`(none)` for the root) to the API stage served there. */
  readonly mappings: Readonly<Record<string, BasePathMapping>>;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

/** Everything an edge serves, read at one revision. */
export interface ControlSnapshot {
  readonly revision: number;
  readonly stages: readonly StageRecord[];
  readonly domains: readonly DomainRecord[];
}

/** `<api>/<deployment id>`: deployments are identified per API. */
export const deploymentRef = (api: string, id: string) => `${api}/${id}`;

/** Every deployment a snapshot's stages serve or canary. */
export function referencedDeployments(snapshot: ControlSnapshot): { api: string; id: string }[] {
  const seen = new Map<string, { api: string; id: string }>();
  for (const s of snapshot.stages) {
    seen.set(deploymentRef(s.api, s.deploymentId), { api: s.api, id: s.deploymentId });
    if (s.canary) seen.set(deploymentRef(s.api, s.canary.deploymentId), { api: s.api, id: s.canary.deploymentId });
  }
  return [...seen.values()];
}
