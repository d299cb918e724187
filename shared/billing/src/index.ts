export { formatAmount, parseAmount, roundToMinor, type Nanos } from './money.js';
export { PriceVersion, Rate, rateFor, versionOn, type PriceVersionConfig, type RateConfig } from './price.js';
export { lastDayOf, rateMonth, type RateInput, type RouteUsage, type Statement, type StatementLine } from './rating.js';
export { statementToText, statementsToCsv } from './statementFormat.js';
export { BillingService, type UsageEvent } from './billingService.js';
export { toCloudEvent, toStripeMeterEvent, type ExportFormat } from './export/formats.js';
export { deliverToWebhook, type DeliveryReport, type WebhookOptions } from './export/webhookSink.js';
