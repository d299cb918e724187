import { Packr } from 'msgpackr';

/**
 * One msgpackr configuration for every binary message edge nodes and workers exchange. Records
 * (`useRecords`) are off: a record's structure would have to be shared between processes that never
 * talk except through Redis, and the messages are small arrays anyway.
 */
const packr = new Packr({ useRecords: false, moreTypes: false });

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

export function decode(buf: Buffer | Uint8Array): unknown {
  return packr.unpack(buf);
}
