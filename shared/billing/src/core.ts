// Prices, rating and the billing service without the exporters: what an edge node loads for spend caps.
export { formatAmount, parseAmount, roundToMinor, type Nanos } from './money.js';
export { PriceVersion, Rate, rateFor, versionOn, type PriceVersionConfig, type RateConfig } from './price.js';
export { lastDayOf, rateMonth, type RateInput, type Statement, type StatementLine } from './rating.js';
export { BillingService, type UsageEvent } from './billingService.js';
