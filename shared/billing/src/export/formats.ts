import { CloudEvent } from 'cloudevents';
import type { UsageEvent } from '../billingService.js';

export type ExportFormat = 'cloudevents' | 'stripe';

/** The end of a usage day, when its calls are complete. */
const endOfDay = (date: string) => Date.parse(`${date}T23:59:59Z`);

/** A CloudEvent (structured mode, specversion 1.0) carrying one day of rated usage. */
export function toCloudEvent(e: UsageEvent, source: string): CloudEvent<UsageEvent> {
  return new CloudEvent<UsageEvent>({
    specversion: '1.0',
    id: e.id,
    source,
    type: 'dev.turnpike.usage.rated.v1',
    subject: e.keyId,
    time: new Date(endOfDay(e.date)).toISOString(),
    datacontenttype: 'application/json',
    data: e,
  });
}

/**
 * Stripe's metered-billing meter event (`POST /v1/billing/meter_events`): the day's billable calls for
 * the key's Stripe customer; `identifier` makes Stripe drop a resent event. A key without a Stripe
 * customer yields null (nothing to send).
 */
export function toStripeMeterEvent(e: UsageEvent, eventName: string): Record<string, unknown> | null {
  if (e.stripeCustomerId === null) return null;
  return {
    event_name: eventName,
    identifier: e.id,
    timestamp: Math.floor(endOfDay(e.date) / 1000),
    payload: { stripe_customer_id: e.stripeCustomerId, value: String(e.calls) },
  };
}
