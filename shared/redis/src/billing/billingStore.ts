import type { RedisClient } from '../connection.js';
import type { RedisKeys } from '../keys.js';
import { StoreError } from '../apiKeys/store.js';
import { utcDate } from '../apiKeys/quotaPeriod.js';

/**
 * Billing records in Redis, beside the API key store (layout, hash-tagged by owner):
 *
 *   billing:prices:{planId}            hash   effectiveFrom → price version (JSON); versions are only added
 *   billing:account:{keyId}            string the key's billing account (JSON): customer ids, spend cap
 *   billing:accounts:{all}             set    key ids with an account (the edges' spend guard reads these)
 *   billing:statement:{keyId}:M:planId string a closed month's statement (JSON), written once (SET NX)
 *   billing:exported:{sink}:M          set    ids of usage events a sink has acknowledged
 *
 * Price versions are stored as the caller validated them (@turnpike/billing's PriceVersion): this
 * package knows their dates and nothing of their meaning.
 */
export interface StoredPriceVersion {
  effectiveFrom: string;
  currency: string;
  [field: string]: unknown;
}

export interface SpendCap {
  /** Decimal string in the plan's currency, per calendar month (UTC). */
  amount: string;
  currency: string;
  /** `block`: 429 Limit Exceeded once reached; `notify`: only reported. */
  action: 'block' | 'notify';
}

export interface BillingAccount {
  keyId: string;
  /** Stripe customer (`cus_...`) for the Stripe meter-event export. */
  stripeCustomerId?: string;
  spendCap?: SpendCap;
}

export class BillingStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  private pricesKey(planId: string): string {
    return this.keys.tagged('billing:prices', planId);
  }

  private accountKey(keyId: string): string {
    return this.keys.tagged('billing:account', keyId);
  }

  private get accountsKey(): string {
    return this.keys.tagged('billing:accounts', 'all');
  }

  /**
   * Adds a price version to a plan. Prices never change the past: a version takes effect on a future
   * day (tomorrow at the earliest, UTC), except a plan's first price, which may start on any day (the
   * calls before it were unpriced). An existing version is never replaced.
   */
  async addPriceVersion(planId: string, version: StoredPriceVersion, now = Date.now()): Promise<void> {
    const existing = await this.priceVersions(planId);
    const today = utcDate(now);
    if (existing.some((v) => v.effectiveFrom === version.effectiveFrom)) {
      throw new StoreError('TP_INVALID', `plan ${planId} already has a price effective from ${version.effectiveFrom}; prices are never rewritten, add one for a later day`);
    }
    if (existing.length > 0 && version.effectiveFrom <= today) {
      throw new StoreError('TP_INVALID', `a new price must take effect after today (${today}, UTC): prices already in effect are never rewritten`);
    }
    const priced = existing.find((v) => v.currency !== version.currency);
    if (priced !== undefined) {
      throw new StoreError('TP_INVALID', `plan ${planId} is priced in ${priced.currency}; a plan keeps one currency`);
    }
    const added = await this.redis.hsetnx(this.pricesKey(planId), version.effectiveFrom, JSON.stringify(version));
    if (added === 0) throw new StoreError('TP_PLAN_CONFLICT', `a price effective from ${version.effectiveFrom} was added concurrently`);
  }

  async priceVersions(planId: string): Promise<StoredPriceVersion[]> {
    const all = await this.redis.hgetall(this.pricesKey(planId));
    return Object.values(all)
      .map((v) => JSON.parse(v) as StoredPriceVersion)
      .sort((a, b) => a.effectiveFrom.localeCompare(b.effectiveFrom));
  }

  async setAccount(account: BillingAccount): Promise<void> {
    // Two slots on Redis Cluster, so no MULTI: the account is written before it is listed, so a listed
    // id always has its account.
    await this.redis.set(this.accountKey(account.keyId), JSON.stringify(account));
    await this.redis.sadd(this.accountsKey, account.keyId);
  }

  async getAccount(keyId: string): Promise<BillingAccount | null> {
    const raw = await this.redis.get(this.accountKey(keyId));
    return raw ? (JSON.parse(raw) as BillingAccount) : null;
  }

  /** Every account with a spend cap (the edges' spend guard). */
  async cappedAccounts(): Promise<BillingAccount[]> {
    const ids = await this.redis.smembers(this.accountsKey);
    if (ids.length === 0) return [];
    // One GET per account (auto-pipelined per node): MGET across Cluster slots is refused (CROSSSLOT).
    const raw = await Promise.all(ids.map((id) => this.redis.get(this.accountKey(id))));
    return raw.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as BillingAccount).filter((a) => a.spendCap !== undefined);
  }

  private statementKey(keyId: string, month: string, planId: string): string {
    return this.keys.tagged('billing:statement', keyId, month, planId);
  }

  /**
   * Stores a closed month's statement once. Resolves with what is stored: the one given, or the one a
   * previous run stored (closing a month twice gives the same statement).
   */
  async closeStatement<T>(keyId: string, month: string, planId: string, statement: T): Promise<{ statement: T; created: boolean }> {
    const key = this.statementKey(keyId, month, planId);
    const set = await this.redis.set(key, JSON.stringify(statement), 'NX');
    if (set === 'OK') return { statement, created: true };
    return { statement: JSON.parse((await this.redis.get(key))!) as T, created: false };
  }

  async getStatement<T>(keyId: string, month: string, planId: string): Promise<T | null> {
    const raw = await this.redis.get(this.statementKey(keyId, month, planId));
    return raw ? (JSON.parse(raw) as T) : null;
  }

  private exportedKey(sink: string, month: string): string {
    return this.keys.tagged('billing:exported', sink, month);
  }

  async exportedIds(sink: string, month: string): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.exportedKey(sink, month)));
  }

  async markExported(sink: string, month: string, id: string): Promise<void> {
    await this.redis.sadd(this.exportedKey(sink, month), id);
  }
}
