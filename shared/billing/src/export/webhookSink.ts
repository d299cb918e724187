import { request, type Dispatcher } from 'undici';
import type { BillingStore } from '@turnpike/redis';
import type { UsageEvent } from '../billingService.js';
import { toCloudEvent, toStripeMeterEvent, type ExportFormat } from './formats.js';

export interface WebhookOptions {
  url: string;
  format: ExportFormat;
  /** Names this sink in the record of what was delivered (default: the URL). */
  sinkName?: string;
  /** CloudEvents `source`. */
  source?: string;
  /** Stripe meter's event_name. */
  stripeEventName?: string;
  /** Tries per event, the first included. */
  attempts?: number;
  /** First retry delay; doubled each time, with jitter. */
  backoffMs?: number;
  timeoutMs?: number;
  headers?: Record<string, string>;
  dispatcher?: Dispatcher;
}

export interface DeliveryReport {
  delivered: number;
  alreadyDelivered: number;
  skipped: number;
  failed: { id: string; error: string }[];
}

class PermanentFailure extends Error {}

/**
 * Posts usage events to a billing system's webhook, each with an `Idempotency-Key` header equal to the
 * event's deterministic id: a retry after a lost reply, or a second export run, is dropped by a receiver
 * that honours the key, so nothing is billed twice. 5xx, 429 and network errors are retried with
 * exponential backoff; other 4xx answers fail the event at once. Delivered ids are recorded per sink and
 * month, so a later run sends only what is new or failed.
 */
export async function deliverToWebhook(events: readonly UsageEvent[], store: BillingStore, opts: WebhookOptions): Promise<DeliveryReport> {
  const sink = opts.sinkName ?? opts.url;
  const report: DeliveryReport = { delivered: 0, alreadyDelivered: 0, skipped: 0, failed: [] };
  const byMonth = new Map<string, Set<string>>();
  for (const e of events) {
    const month = e.date.slice(0, 7);
    let done = byMonth.get(month);
    if (done === undefined) byMonth.set(month, (done = await store.exportedIds(sink, month)));
    if (done.has(e.id)) {
      report.alreadyDelivered++;
      continue;
    }
    const body = bodyOf(e, opts);
    if (body === null) {
      report.skipped++;
      continue;
    }
    try {
      await postWithRetries(body, e.id, opts);
      await store.markExported(sink, month, e.id);
      done.add(e.id);
      report.delivered++;
    } catch (err) {
      report.failed.push({ id: e.id, error: (err as Error).message });
    }
  }
  return report;
}

function bodyOf(e: UsageEvent, opts: WebhookOptions): { contentType: string; text: string } | null {
  if (opts.format === 'stripe') {
    const m = toStripeMeterEvent(e, opts.stripeEventName ?? 'api_calls');
    return m === null ? null : { contentType: 'application/json', text: JSON.stringify(m) };
  }
  return { contentType: 'application/cloudevents+json; charset=utf-8', text: JSON.stringify(toCloudEvent(e, opts.source ?? 'turnpike').toJSON()) };
}

async function postWithRetries(body: { contentType: string; text: string }, id: string, opts: WebhookOptions): Promise<void> {
  const attempts = opts.attempts ?? 5;
  let delay = opts.backoffMs ?? 200;
  let last = '';
  for (let i = 1; i <= attempts; i++) {
    try {
      const r = await request(opts.url, {
        method: 'POST',
        headers: { 'content-type': body.contentType, 'idempotency-key': id, ...opts.headers },
        body: body.text,
        headersTimeout: opts.timeoutMs ?? 10_000,
        bodyTimeout: opts.timeoutMs ?? 10_000,
        dispatcher: opts.dispatcher,
      });
      await r.body.dump();
      if (r.statusCode < 300 || r.statusCode === 409) return; // 409: the receiver had it already
      last = `HTTP ${r.statusCode}`;
      if (r.statusCode < 500 && r.statusCode !== 429 && r.statusCode !== 408) throw new PermanentFailure(`${opts.url} refused the event: ${last}`);
    } catch (err) {
      if (err instanceof PermanentFailure) throw err;
      last = (err as Error).message;
    }
    if (i < attempts) {
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
      delay *= 2;
    }
  }
  throw new Error(`${opts.url}: no success after ${attempts} attempts (last: ${last})`);
}
