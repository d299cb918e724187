export * from './core.js';
export { statementToText, statementsToCsv } from './statementFormat.js';
export { toCloudEvent, toStripeMeterEvent, type ExportFormat } from './export/formats.js';
export { deliverToWebhook, type DeliveryReport, type WebhookOptions } from './export/webhookSink.js';
