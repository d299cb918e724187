import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RedisClient } from '../connection.js';
import type { RedisKeys } from '../keys.js';
import { digestKeyValue, digestKeyValueHex, digestsEqual, generateId, generateKeyValue } from './secret.js';
import { utcDate, type QuotaPeriodUnit } from './quotaPeriod.js';

/**
 * API keys, usage plans and metered usage in Redis: the one store the edge reads, the CLI writes, and
 * the control service will reuse. Layout (every key hash-tagged by the entity it belongs to):
 *
 *   apikey:{sha256(value)}     hash   id, name, enabled, createdAt, plans (JSON ids), digest
 *   apikeyid:{id}              string sha256(value) as hex: finds a key by id without its value
 *   plan:{id}                  string the plan as JSON
 *   index:{apikeys|plans}      set    every id, for listings
 *   usage:{keyId}:YYYY-MM-DD   hash   "<apiId>/<stage>/calls" and ".../bytes" counters (GetUsage), and
 *                                     "r|calls|<apiId>|<stage>|<route>", "r|bytes|..." (billing)
 *   usage:{keyId}:batches      zset   metering batches already applied (exactly-once flushes)
 *   quota:{keyId}:plan:period  string requests leased against the plan's quota this period
 *
 * The edge looks a key up by the digest of the presented value, so a lookup is one HGETALL; changes are
 * announced on the `<prefix>:apikeys:changed` channel so edges drop what they cached.
 */

export interface ThrottleLimits {
  rateLimit: number;
  burstLimit: number;
}

export interface QuotaSettings {
  limit: number;
  period: QuotaPeriodUnit;
}

export interface PlanApiStage {
  apiId: string;
  stage: string;
}

export interface UsagePlan {
  id: string;
  name: string;
  throttle?: ThrottleLimits;
  quota?: QuotaSettings;
  apiStages: PlanApiStage[];
  createdAt: string;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  enabled: boolean;
  createdAt: string;
  planIds: string[];
}

/** Only `createKey` ever returns the value; nothing stores it. */
export interface CreatedApiKey extends ApiKeyRecord {
  value: string;
}

/** What the edge needs to admit a request: the key and the plans it belongs to. */
export interface ResolvedApiKey {
  key: ApiKeyRecord;
  plans: UsagePlan[];
}

export interface UsageRow {
  date: string;
  apiId: string;
  stage: string;
  calls: number;
  bytes: number;
}

export type StoreErrorCode = 'TP_KEY_NOT_FOUND' | 'TP_PLAN_NOT_FOUND' | 'TP_PLAN_CONFLICT' | 'TP_INVALID';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

const USAGE_RETENTION_MS = 400 * 86_400_000;
/** Applied batch ids are remembered two days: an edge gives up resending a batch long before that. */
const BATCH_MEMORY_MS = 2 * 86_400_000;
const resolveScript = createRequire(import.meta.url).resolve;

/** One metering batch for one key and day: "<apiId>/<stage> <route key>" → [calls, bytes]. */
export type UsageBatch = ReadonlyMap<string, readonly [number, number]>;

/** Billable calls and response bytes of one key, one day, one route (what the edge meters; what billing rates). */
export interface RouteUsageRow {
  date: string;
  apiId: string;
  stage: string;
  route: string;
  calls: number;
  bytes: number;
}

interface UsageCommands {
  tpUsageFlush(usageKey: string, batchesKey: string, ...args: (string | number)[]): Promise<unknown>;
}

/** `YYYY-MM-DD` days from `from` to `to` inclusive (at most 366). */
function dayRange(from: string, to: string): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to) || Number.isNaN(start) || Number.isNaN(end) || end < start) {
    throw new StoreError('TP_INVALID', 'dates are YYYY-MM-DD with from <= to');
  }
  if (end - start > 366 * 86_400_000) throw new StoreError('TP_INVALID', 'at most 366 days at once');
  const days: string[] = [];
  for (let t = start; t <= end; t += 86_400_000) days.push(utcDate(t));
  return days;
}
const NAME = /^[A-Za-z0-9 _.:-]{1,128}$/;

export class ApiKeyStore {
  constructor(
    private readonly redis: RedisClient,
    readonly keys: RedisKeys,
  ) {
    if (!('tpUsageFlush' in redis)) redis.defineCommand('tpUsageFlush', { numberOfKeys: 2, lua: readFileSync(resolveScript('@turnpike/redis/scripts/usage-flush-2.lua'), 'utf8') });
  }

  /** The pub/sub channel carrying the digest (hex) of a changed key, or `*` when a plan changed. */
  get changesChannel(): string {
    return `${this.keys.prefix}:apikeys:changed`;
  }

  usageKey(keyId: string, date: string): string {
    return this.keys.tagged('usage', keyId, date);
  }

  quotaKey(keyId: string, planId: string, periodId: string): string {
    return this.keys.tagged('quota', keyId, planId, periodId);
  }

  // ---- keys -------------------------------------------------------------------------------------

  async createKey(opts: { name: string; value?: string; enabled?: boolean }): Promise<CreatedApiKey> {
    checkName(opts.name);
    const value = opts.value ?? generateKeyValue();
    if (value.length < 20 || value.length > 128 || !/^[\x21-\x7e]+$/.test(value)) throw new StoreError('TP_INVALID', 'an API key value is 20 to 128 printable ASCII characters');
    const digest = digestKeyValueHex(value);
    const recordKey = this.keys.tagged('apikey', digest);
    if (await this.redis.exists(recordKey)) throw new StoreError('TP_INVALID', 'an API key with this value already exists');
    const record: ApiKeyRecord = { id: generateId(), name: opts.name, enabled: opts.enabled ?? true, createdAt: new Date().toISOString(), planIds: [] };
    // The record is written last: a key is usable only once it can also be found by id.
    await this.redis.set(this.keys.tagged('apikeyid', record.id), digest);
    await this.redis.sadd(this.keys.tagged('index', 'apikeys'), record.id);
    await this.redis.hset(recordKey, { ...encodeKey(record), digest });
    return { ...record, value };
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    const ids = await this.redis.smembers(this.keys.tagged('index', 'apikeys'));
    const found = await Promise.all(ids.map((id) => this.getKey(id).catch(() => null)));
    return found.filter((k): k is ApiKeyRecord => k !== null).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async getKey(id: string): Promise<ApiKeyRecord> {
    const { fields } = await this.keyById(id);
    return decodeKey(fields);
  }

  async setKeyEnabled(id: string, enabled: boolean): Promise<ApiKeyRecord> {
    const { digest, fields } = await this.keyById(id);
    await this.redis.hset(this.keys.tagged('apikey', digest), 'enabled', enabled ? '1' : '0');
    await this.redis.publish(this.changesChannel, digest);
    return { ...decodeKey(fields), enabled };
  }

  /**
   * The key a request presented, with its plans; null for an unknown value. The stored digest is
   * compared in constant time as well, so a lookup never compares secret material byte by byte.
   */
  async resolveKey(value: string): Promise<ResolvedApiKey | null> {
    const digest = digestKeyValue(value);
    const fields = await this.redis.hgetall(this.keys.tagged('apikey', digest.toString('hex')));
    if (!fields.id || !fields.digest || !digestsEqual(Buffer.from(fields.digest, 'hex'), digest)) return null;
    const key = decodeKey(fields);
    const plans = key.planIds.length ? (await this.getPlans(key.planIds)).filter((p): p is UsagePlan => p !== null) : [];
    return { key, plans };
  }

  private async keyById(id: string): Promise<{ digest: string; fields: Record<string, string> }> {
    const digest = await this.redis.get(this.keys.tagged('apikeyid', id));
    const fields = digest ? await this.redis.hgetall(this.keys.tagged('apikey', digest)) : {};
    if (!digest || !fields.id) throw new StoreError('TP_KEY_NOT_FOUND', `no API key with id "${id}"`);
    return { digest, fields };
  }

  // ---- usage plans ------------------------------------------------------------------------------

  async createPlan(opts: { name: string; throttle?: ThrottleLimits; quota?: QuotaSettings; apiStages: PlanApiStage[] }): Promise<UsagePlan> {
    checkName(opts.name);
    if (opts.throttle) checkThrottle(opts.throttle);
    if (opts.quota && (!Number.isInteger(opts.quota.limit) || opts.quota.limit < 0 || !['DAY', 'WEEK', 'MONTH'].includes(opts.quota.period))) {
      throw new StoreError('TP_INVALID', 'a quota is a whole number of requests (>= 0) per DAY, WEEK or MONTH');
    }
    if (opts.apiStages.length === 0) throw new StoreError('TP_INVALID', 'a usage plan covers at least one API stage (apiId/stage)');
    for (const s of opts.apiStages) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(s.apiId) || !/^(\$default|[A-Za-z0-9_-]{1,128})$/.test(s.stage)) throw new StoreError('TP_INVALID', `"${s.apiId}/${s.stage}" is not an API id and stage name`);
    }
    const plan: UsagePlan = {
      id: generateId(),
      name: opts.name,
      ...(opts.throttle ? { throttle: opts.throttle } : {}),
      ...(opts.quota ? { quota: opts.quota } : {}),
      apiStages: opts.apiStages,
      createdAt: new Date().toISOString(),
    };
    await this.redis.set(this.keys.tagged('plan', plan.id), JSON.stringify(plan));
    await this.redis.sadd(this.keys.tagged('index', 'plans'), plan.id);
    return plan;
  }

  async listPlans(): Promise<UsagePlan[]> {
    const ids = await this.redis.smembers(this.keys.tagged('index', 'plans'));
    const plans = (await this.getPlans(ids)).filter((p): p is UsagePlan => p !== null);
    return plans.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async getPlan(id: string): Promise<UsagePlan> {
    const [plan] = await this.getPlans([id]);
    if (!plan) throw new StoreError('TP_PLAN_NOT_FOUND', `no usage plan with id "${id}"`);
    return plan;
  }

  private async getPlans(ids: string[]): Promise<(UsagePlan | null)[]> {
    if (ids.length === 0) return [];
    // One GET per plan (pipelined by ioredis): each plan is its own Cluster slot.
    const raw = await Promise.all(ids.map((id) => this.redis.get(this.keys.tagged('plan', id))));
    return raw.map((r) => (r ? (JSON.parse(r) as UsagePlan) : null));
  }

  /**
   * Associates a key with a plan. Like AWS, a key belongs to at most one plan per API stage, since the
   * plan decides the key's throttle and quota there.
   */
  async attachKey(planId: string, keyId: string): Promise<ApiKeyRecord> {
    const plan = await this.getPlan(planId);
    const { digest, fields } = await this.keyById(keyId);
    const key = decodeKey(fields);
    if (key.planIds.includes(planId)) return key;
    const others = (await this.getPlans(key.planIds)).filter((p): p is UsagePlan => p !== null);
    for (const other of others) {
      const clash = other.apiStages.find((s) => plan.apiStages.some((t) => t.apiId === s.apiId && t.stage === s.stage));
      if (clash) throw new StoreError('TP_PLAN_CONFLICT', `key ${keyId} is already in plan ${other.id} for ${clash.apiId}/${clash.stage}`);
    }
    const planIds = [...key.planIds, planId];
    await this.redis.hset(this.keys.tagged('apikey', digest), 'plans', JSON.stringify(planIds));
    await this.redis.publish(this.changesChannel, digest);
    return { ...key, planIds };
  }

  // ---- usage ------------------------------------------------------------------------------------

  /**
   * Applies one metering batch of an edge node at most once (usage-flush-2.lua): a batch resent after a
   * lost reply is recognised by its id and not counted again. Resolves true when applied now, false when
   * it had been applied before.
   */
  async applyUsageBatch(keyId: string, date: string, batchId: string, batch: UsageBatch): Promise<boolean> {
    const args: (string | number)[] = [batchId, Date.now(), BATCH_MEMORY_MS, USAGE_RETENTION_MS];
    for (const [route, [calls, bytes]] of batch) {
      const slash = route.indexOf(' ');
      // "<apiId>/<stage> <route key>": GetUsage's per-stage fields, and billing's per-route ones.
      const apiStage = route.slice(0, slash);
      const [apiId, stage] = apiStage.split('/') as [string, string];
      const routeKey = route.slice(slash + 1);
      args.push(`${apiStage}/calls`, calls, `r|calls|${apiId}|${stage}|${routeKey}`, calls);
      if (bytes) args.push(`${apiStage}/bytes`, bytes, `r|bytes|${apiId}|${stage}|${routeKey}`, bytes);
    }
    const r = (await (this.redis as unknown as UsageCommands).tpUsageFlush(this.usageKey(keyId, date), this.keys.tagged('usage', keyId, 'batches'), ...args)) as number;
    return r === 1;
  }

  /** Billable calls and bytes per day and route, for rating (`from`/`to` inclusive, UTC). */
  async getRouteUsage(keyId: string, from: string, to: string): Promise<RouteUsageRow[]> {
    const days = dayRange(from, to);
    const hashes = await Promise.all(days.map(async (date) => ({ date, hash: await this.redis.hgetall(this.usageKey(keyId, date)) })));
    const rows: RouteUsageRow[] = [];
    for (const { date, hash } of hashes) {
      const byRoute = new Map<string, RouteUsageRow>();
      for (const [field, v] of Object.entries(hash)) {
        if (!field.startsWith('r|')) continue;
        const [, kind, apiId, stage] = field.split('|', 4) as [string, string, string, string];
        const route = field.slice(`r|${kind}|${apiId}|${stage}|`.length);
        const id = `${apiId}/${stage} ${route}`;
        let row = byRoute.get(id);
        if (!row) byRoute.set(id, (row = { date, apiId, stage, route, calls: 0, bytes: 0 }));
        if (kind === 'calls') row.calls = Number(v);
        else row.bytes = Number(v);
      }
      rows.push(...byRoute.values());
    }
    return rows;
  }

  /** Usage of one key per day from `from` to `to` (inclusive, `YYYY-MM-DD`, UTC). */
  async getUsage(keyId: string, from: string, to: string): Promise<UsageRow[]> {
    const days = dayRange(from, to);
    await this.keyById(keyId);
    const hashes = await Promise.all(days.map(async (date) => ({ date, hash: await this.redis.hgetall(this.usageKey(keyId, date)) })));
    const rows: UsageRow[] = [];
    for (const { date, hash } of hashes) {
      const byStage = new Map<string, UsageRow>();
      for (const [field, v] of Object.entries(hash)) {
        if (field.startsWith('r|')) continue;
        const cut = field.lastIndexOf('/');
        const apiStage = field.slice(0, cut);
        const slash = apiStage.indexOf('/');
        let row = byStage.get(apiStage);
        if (!row) byStage.set(apiStage, (row = { date, apiId: apiStage.slice(0, slash), stage: apiStage.slice(slash + 1), calls: 0, bytes: 0 }));
        if (field.endsWith('/calls')) row.calls = Number(v);
        else row.bytes = Number(v);
      }
      rows.push(...[...byStage.values()].sort((a, b) => `${a.apiId}/${a.stage}`.localeCompare(`${b.apiId}/${b.stage}`)));
    }
    return rows;
  }
}

function encodeKey(k: ApiKeyRecord): Record<string, string> {
  return { id: k.id, name: k.name, enabled: k.enabled ? '1' : '0', createdAt: k.createdAt, plans: JSON.stringify(k.planIds) };
}

function decodeKey(f: Record<string, string>): ApiKeyRecord {
  return { id: f.id!, name: f.name ?? '', enabled: f.enabled === '1', createdAt: f.createdAt ?? '', planIds: f.plans ? (JSON.parse(f.plans) as string[]) : [] };
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new StoreError('TP_INVALID', 'a name is 1 to 128 letters, digits, spaces, _ . : -');
}

function checkThrottle(t: ThrottleLimits): void {
  if (!(t.rateLimit > 0) || !Number.isInteger(t.burstLimit) || t.burstLimit < 0) throw new StoreError('TP_INVALID', 'a throttle is rateLimit > 0 requests per second and a whole burstLimit >= 0');
}
