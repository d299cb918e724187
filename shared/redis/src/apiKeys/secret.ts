import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API key values are 40 random URL-safe characters (like AWS's), shown once at creation and stored only
 * as their SHA-256 digest. The values carry 240 bits of entropy, so an unsalted fast hash is enough: a
 * stolen digest cannot be reversed by guessing, and lookups stay one hash per request.
 */
export function generateKeyValue(): string {
  return randomBytes(30).toString('base64url');
}

/** A short public id for a key or plan (what lists, logs and usage reports show instead of the value). */
export function generateId(): string {
  return randomBytes(8).toString('base64url').replace(/[-_]/g, 'x').slice(0, 10).toLowerCase();
}

export function digestKeyValue(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The same digest as hex, what cache and Redis keys are named by. One-shot `crypto.hash` (no Hash object,
 * no Buffer): about 0.5 µs against 2-4 µs for createHash + toString, and the edge pays it per keyed request.
 */
export function digestKeyValueHex(value: string): string {
  return hash('sha256', value, 'hex');
}

/** Compares two digests without an early exit, so response time says nothing about how much matched. */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
