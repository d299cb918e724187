import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RedisClient } from '../connection.js';
import type { ApiConfig, ThrottleSettingsConfig } from '@turnpike/config';
import type { RedisKeys } from '../keys.js';
import type { ApiRecord, BasePathMapping, CanarySettings, ControlSnapshot, DeploymentRecord, DeploymentSummary, DomainRecord, StageHistoryEntry, StageRecord } from './records.js';

/**
 * The control plane in Redis: API definitions, immutable deployments, stages (with history and canary
 * settings) and custom-domain base path mappings (docs/versions.md). Layout, every key under the one hash
 * tag `{control}` so a change and its history, revision and announcement are one script on one slot:
 *
 *   ctl:{control}:apis                   hash  API name -> ApiRecord JSON
 *   ctl:{control}:stages                 hash  "<api>/<stage>" -> StageRecord JSON
 *   ctl:{control}:domains                hash  domain -> DomainRecord JSON
 *   ctl:{control}:deployments:<api>      hash  deployment id -> DeploymentRecord JSON (written once, HSETNX)
 *   ctl:{control}:history:<kind>:<id>    list  history entries, newest first
 *   ctl:{control}:revision               string incremented by every change edges serve
 *   ctl:{control}:changes                channel the new revision, after each change
 *
 * The data is small (definitions, not traffic), so one slot is no bottleneck.
 */

export type ControlErrorCode = 'not_found' | 'conflict' | 'invalid';

export class ControlError extends Error {
  constructor(
    readonly code: ControlErrorCode,
    message: string,
    /** For conflicts: the record's current version. */
    readonly currentVersion?: number,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

/** Who made a change and, optionally, which version they read (compare-and-set); absent: the version read now. */
export interface ChangeOptions {
  readonly by: string;
  readonly expectedVersion?: number;
}

export interface StagePatch {
  /** Variables set (or replaced). */
  readonly variables?: Readonly<Record<string, string>>;
  /** Variables removed. */
  readonly unset?: readonly string[];
  /** Stage throttle; null removes it. */
  readonly throttle?: ThrottleSettingsConfig | null;
}

const HISTORY_KEPT = 200;
const CAS_LUA = readFileSync(createRequire(import.meta.url).resolve('@turnpike/redis/scripts/control-cas-3.lua'), 'utf8');
type CasRedis = RedisClient & { tpControlCas(k1: string, k2: string, k3: string, ...argv: (string | number)[]): Promise<[number, number]> };

export class ControlStore {
  private readonly redis: CasRedis;

  constructor(
    redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    if (!('tpControlCas' in redis)) redis.defineCommand('tpControlCas', { numberOfKeys: 3, lua: CAS_LUA });
    this.redis = redis as CasRedis;
  }

  private key(...parts: string[]): string {
    return this.keys.tagged('ctl', 'control', ...parts);
  }

  /** The pub/sub channel carrying each new revision. */
  get channel(): string {
    return this.key('changes');
  }

  async revision(): Promise<number> {
    return Number((await this.redis.get(this.key('revision'))) ?? 0);
  }

  // ---- APIs ------------------------------------------------------------------------------------

  async listApis(): Promise<ApiRecord[]> {
    return sorted(Object.values(await this.redis.hgetall(this.key('apis'))).map((v) => JSON.parse(v) as ApiRecord), (a) => a.name);
  }

  async getApi(name: string): Promise<ApiRecord> {
    const raw = await this.redis.hget(this.key('apis'), name);
    if (raw === null) throw new ControlError('not_found', `no API named "${name}"`);
    return JSON.parse(raw) as ApiRecord;
  }

  /** Creates or replaces an API's definition (already validated by the caller). */
  async putApi(name: string, definition: ApiConfig, opts: ChangeOptions): Promise<ApiRecord> {
    const raw = await this.redis.hget(this.key('apis'), name);
    const current = raw === null ? 0 : (JSON.parse(raw) as ApiRecord).version;
    const record: ApiRecord = { name, version: 0, definition, updatedAt: now(), updatedBy: opts.by };
    return this.cas('apis', name, `api:${name}`, current, opts, record, (v) => ({ version: v, at: record.updatedAt, by: opts.by, action: raw === null ? 'create' : 'replace' }));
  }

  /** Deletes an API that no stage serves any more; its deployments stay readable. */
  async deleteApi(name: string, opts: ChangeOptions): Promise<void> {
    const api = await this.getApi(name);
    const stages = await this.listStages(name);
    if (stages.length) throw new ControlError('invalid', `API "${name}" still has stages (${stages.map((s) => s.name).join(', ')}): delete them first`);
    await this.cas('apis', name, `api:${name}`, api.version, opts, null, (v) => ({ version: v, at: now(), by: opts.by, action: 'delete' }));
  }

  // ---- deployments -------------------------------------------------------------------------------

  /** Freezes the API's current definition into a new immutable deployment. */
  async createDeployment(apiName: string, opts: { description?: string; by: string }): Promise<DeploymentRecord> {
    const api = await this.getApi(apiName);
    const hash = createHash('sha256').update(canonicalJson(api.definition)).digest('hex');
    for (;;) {
      const id = randomBytes(6).toString('base64url').replace(/[-_]/g, 'x').slice(0, 8).toLowerCase();
      const record: DeploymentRecord = { id, api: apiName, hash, description: opts.description ?? '', createdAt: now(), createdBy: opts.by, definition: api.definition };
      if (await this.redis.hsetnx(this.key('deployments', apiName), id, JSON.stringify(record))) return record;
    }
  }

  async listDeployments(apiName: string): Promise<DeploymentSummary[]> {
    await this.getApi(apiName);
    const all = Object.values(await this.redis.hgetall(this.key('deployments', apiName))).map((v) => {
      const { definition: _definition, ...summary } = JSON.parse(v) as DeploymentRecord;
      return summary;
    });
    return all.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  async getDeployment(apiName: string, id: string): Promise<DeploymentRecord> {
    const raw = await this.redis.hget(this.key('deployments', apiName), id);
    if (raw === null) throw new ControlError('not_found', `API "${apiName}" has no deployment "${id}"`);
    return JSON.parse(raw) as DeploymentRecord;
  }

  /** Deployments by API and id, for edges (null where one does not exist). */
  async deploymentsById(refs: readonly { api: string; id: string }[]): Promise<(DeploymentRecord | null)[]> {
    if (refs.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const r of refs) pipe.hget(this.key('deployments', r.api), r.id);
    const out = (await pipe.exec()) ?? [];
    return out.map(([err, v]) => {
      if (err) throw err;
      return v === null ? null : (JSON.parse(v as string) as DeploymentRecord);
    });
  }

  // ---- stages ------------------------------------------------------------------------------------

  async listStages(apiName: string): Promise<StageRecord[]> {
    return (await this.allStages()).filter((s) => s.api === apiName);
  }

  async getStage(apiName: string, stage: string): Promise<StageRecord> {
    const raw = await this.redis.hget(this.key('stages'), stageField(apiName, stage));
    if (raw === null) throw new ControlError('not_found', `API "${apiName}" has no stage "${stage}"`);
    return JSON.parse(raw) as StageRecord;
  }

  async stageHistory(apiName: string, stage: string, limit = HISTORY_KEPT): Promise<StageHistoryEntry[]> {
    const raw = await this.redis.lrange(this.key('history', 'stage', stageField(apiName, stage)), 0, limit - 1);
    return raw.map((v) => JSON.parse(v) as StageHistoryEntry);
  }

  /** Freezes the definition into a new deployment and points the stage at it (creating the stage). */
  async deploy(apiName: string, stage: string, opts: ChangeOptions & { description?: string }): Promise<{ deployment: DeploymentRecord; stage: StageRecord }> {
    const raw = await this.redis.hget(this.key('stages'), stageField(apiName, stage));
    const current = raw === null ? null : (JSON.parse(raw) as StageRecord);
    checkExpected(current?.version ?? 0, opts);
    await this.checkPath(apiName, stage, (await this.getApi(apiName)).definition);
    const deployment = await this.createDeployment(apiName, opts);
    const seed = deployment.definition.stages[stage];
    const next: StageRecord = current
      ? { ...current, deploymentId: deployment.id, updatedAt: now(), updatedBy: opts.by }
      : { api: apiName, name: stage, version: 0, deploymentId: deployment.id, variables: seed?.variables ?? {}, throttle: seed?.throttle ?? null, canary: null, updatedAt: now(), updatedBy: opts.by };
    return { deployment, stage: await this.writeStage(current, next, 'deploy', opts) };
  }

  async updateStage(apiName: string, stage: string, patch: StagePatch, opts: ChangeOptions): Promise<StageRecord> {
    const current = await this.getStage(apiName, stage);
    const variables: Record<string, string> = { ...current.variables, ...patch.variables };
    for (const k of patch.unset ?? []) delete variables[k];
    const next: StageRecord = { ...current, variables, throttle: patch.throttle === undefined ? current.throttle : patch.throttle, updatedAt: now(), updatedBy: opts.by };
    return this.writeStage(current, next, 'update', opts);
  }

  /** Points the stage at `to`, or at the deployment it served before the current one. */
  async rollback(apiName: string, stage: string, opts: ChangeOptions & { to?: string }): Promise<StageRecord> {
    const current = await this.getStage(apiName, stage);
    let to = opts.to;
    if (to === undefined) {
      const history = await this.stageHistory(apiName, stage);
      to = history.find((h) => h.deploymentId !== current.deploymentId)?.deploymentId;
      if (to === undefined) throw new ControlError('invalid', `stage "${stage}" of API "${apiName}" has served no other deployment: give the one to roll back to`);
    }
    await this.checkPath(apiName, stage, (await this.getDeployment(apiName, to)).definition);
    return this.writeStage(current, { ...current, deploymentId: to, updatedAt: now(), updatedBy: opts.by }, 'rollback', opts);
  }

  async deleteStage(apiName: string, stage: string, opts: ChangeOptions): Promise<void> {
    const current = await this.getStage(apiName, stage);
    const mapped = (await this.listDomains()).filter((d) => Object.values(d.mappings).some((m) => m.api === apiName && m.stage === stage));
    if (mapped.length) throw new ControlError('invalid', `stage "${stage}" of API "${apiName}" is mapped on ${mapped.map((d) => d.domain).join(', ')}: remove the mappings first`);
    await this.writeStage(current, null, 'delete', opts);
  }

  async putCanary(apiName: string, stage: string, canary: CanarySettings, opts: ChangeOptions): Promise<StageRecord> {
    if (!(canary.percent >= 0 && canary.percent <= 100)) throw new ControlError('invalid', 'percent must be from 0 to 100');
    const current = await this.getStage(apiName, stage);
    await this.getDeployment(apiName, canary.deploymentId);
    return this.writeStage(current, { ...current, canary, updatedAt: now(), updatedBy: opts.by }, 'canary-create', opts);
  }

  /** The canary's deployment and variables become the stage's own, and the canary ends. */
  async promoteCanary(apiName: string, stage: string, opts: ChangeOptions): Promise<StageRecord> {
    const current = await this.getStage(apiName, stage);
    if (!current.canary) throw new ControlError('invalid', `stage "${stage}" of API "${apiName}" has no canary`);
    const next: StageRecord = { ...current, deploymentId: current.canary.deploymentId, variables: { ...current.variables, ...current.canary.variables }, canary: null, updatedAt: now(), updatedBy: opts.by };
    return this.writeStage(current, next, 'canary-promote', opts);
  }

  async deleteCanary(apiName: string, stage: string, opts: ChangeOptions): Promise<StageRecord> {
    const current = await this.getStage(apiName, stage);
    if (!current.canary) throw new ControlError('invalid', `stage "${stage}" of API "${apiName}" has no canary`);
    return this.writeStage(current, { ...current, canary: null, updatedAt: now(), updatedBy: opts.by }, 'canary-delete', opts);
  }

  /**
   * Refuses to serve `stage` of `apiName` with `definition` where another API already serves the same
   * stage at the same host and base path (one would shadow the other). Edges refuse such a revision too;
   * this says so to the operator before anything changes. Two such deploys racing can both pass here:
   * the edges' check is the backstop.
   */
  private async checkPath(apiName: string, stage: string, definition: ApiConfig): Promise<void> {
    const others = (await this.allStages()).filter((s) => s.name === stage && s.api !== apiName);
    if (others.length === 0) return;
    const served = await this.deploymentsById(others.map((s) => ({ api: s.api, id: s.deploymentId })));
    const hosts = (d: ApiConfig) => (d.hosts.length ? d.hosts : ['*']);
    for (const d of served) {
      if (!d || d.definition.basePath !== definition.basePath) continue;
      const shared = hosts(d.definition).find((h) => hosts(definition).includes(h));
      if (shared !== undefined) throw new ControlError('invalid', `API "${d.api}" already serves stage "${stage}" at host ${shared}, base path ${definition.basePath}: give this API another basePath or hosts`);
    }
  }

  private async allStages(): Promise<StageRecord[]> {
    return sorted(Object.values(await this.redis.hgetall(this.key('stages'))).map((v) => JSON.parse(v) as StageRecord), (s) => `${s.api}/${s.name}`);
  }

  private writeStage(current: StageRecord | null, next: StageRecord | null, action: StageHistoryEntry['action'], opts: ChangeOptions): Promise<StageRecord> {
    const s = (next ?? current)!;
    const field = stageField(s.api, s.name);
    return this.cas('stages', field, `stage:${field}`, current?.version ?? 0, opts, next, (version) => ({
      version,
      action,
      deploymentId: s.deploymentId,
      canaryDeploymentId: next?.canary?.deploymentId ?? null,
      at: s.updatedAt,
      by: opts.by,
    }) satisfies StageHistoryEntry) as Promise<StageRecord>;
  }

  // ---- domains -----------------------------------------------------------------------------------

  async listDomains(): Promise<DomainRecord[]> {
    return sorted(Object.values(await this.redis.hgetall(this.key('domains'))).map((v) => JSON.parse(v) as DomainRecord), (d) => d.domain);
  }

  async getDomain(domain: string): Promise<DomainRecord> {
    const raw = await this.redis.hget(this.key('domains'), domain);
    if (raw === null) throw new ControlError('not_found', `no domain "${domain}"`);
    return JSON.parse(raw) as DomainRecord;
  }

  /** Maps `basePath` of `domain` (created if new) to an existing API stage. */
  async putMapping(domain: string, basePath: string, mapping: BasePathMapping, opts: ChangeOptions): Promise<DomainRecord> {
    await this.getStage(mapping.api, mapping.stage);
    const raw = await this.redis.hget(this.key('domains'), domain);
    const current = raw === null ? null : (JSON.parse(raw) as DomainRecord);
    const next: DomainRecord = { domain, version: 0, mappings: { ...current?.mappings, [basePath]: { api: mapping.api, stage: mapping.stage } }, updatedAt: now(), updatedBy: opts.by };
    return this.cas('domains', domain, `domain:${domain}`, current?.version ?? 0, opts, next, (v) => ({ version: v, action: 'map', basePath, ...mapping, at: next.updatedAt, by: opts.by }));
  }

  async deleteMapping(domain: string, basePath: string, opts: ChangeOptions): Promise<DomainRecord | null> {
    const current = await this.getDomain(domain);
    if (!current.mappings[basePath]) throw new ControlError('not_found', `domain "${domain}" has no mapping "${basePath}"`);
    const { [basePath]: _gone, ...mappings } = current.mappings;
    const empty = Object.keys(mappings).length === 0;
    const next: DomainRecord | null = empty ? null : { ...current, mappings, updatedAt: now(), updatedBy: opts.by };
    await this.cas('domains', domain, `domain:${domain}`, current.version, opts, next, (v) => ({ version: v, action: 'unmap', basePath, at: now(), by: opts.by }));
    return empty ? null : { ...next!, version: current.version + 1 };
  }

  // ---- what edges read ---------------------------------------------------------------------------

  /** Stages and domains at one revision (MULTI on one slot: consistent). */
  async snapshot(): Promise<ControlSnapshot> {
    const out = await this.redis.multi().get(this.key('revision')).hgetall(this.key('stages')).hgetall(this.key('domains')).exec();
    if (!out) throw new Error('control snapshot transaction aborted');
    for (const [err] of out) if (err) throw err;
    const [rev, stages, domains] = out.map(([, v]) => v) as [string | null, Record<string, string>, Record<string, string>];
    return {
      revision: Number(rev ?? 0),
      stages: Object.values(stages).map((v) => JSON.parse(v) as StageRecord),
      domains: Object.values(domains).map((v) => JSON.parse(v) as DomainRecord),
    };
  }

  // ---- the one write path ------------------------------------------------------------------------

  private async cas<T extends { version: number }>(kind: string, field: string, historyId: string, current: number, opts: ChangeOptions, next: T | null, history: (version: number) => object): Promise<T> {
    checkExpected(current, opts);
    const version = current + 1;
    const record = next === null ? null : { ...next, version };
    const [ok, value] = await this.redis.tpControlCas(
      this.key(kind),
      this.key('revision'),
      this.key('history', historyId),
      field,
      current,
      record === null ? '' : JSON.stringify(record),
      JSON.stringify(history(version)),
      HISTORY_KEPT,
      this.channel,
    );
    if (ok !== 1) throw new ControlError('conflict', `${kind.replace(/s$/, '')} "${field}" was changed concurrently (now at version ${value}, this change was made from version ${current}): read it again and retry`, value);
    return (record ?? next) as T;
  }
}

function checkExpected(current: number, opts: ChangeOptions): void {
  if (opts.expectedVersion !== undefined && opts.expectedVersion !== current) {
    throw new ControlError('conflict', `version ${opts.expectedVersion} was expected but the record is at version ${current}`, current);
  }
}

export function stageField(api: string, stage: string): string {
  return `${api}/${stage}`;
}

/** JSON with object keys sorted, so equal definitions hash equal whatever order their keys came in. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function now(): string {
  return new Date().toISOString();
}

function sorted<T>(list: T[], key: (t: T) => string): T[] {
  return list.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
