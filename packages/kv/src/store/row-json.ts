import type { KeyValue } from '@strand/wire';
import type { WatchEvent } from './kv-store.js';

/**
 * The JSON of key rows, history rows and snapshot records: a record is
 * `{"key":B64,"value":B64,"createRevision":N,"modRevision":N,"version":N,"lease":N}` and an
 * event `{"type":T,"revision":N,"kv":RECORD[,"prevKv":RECORD]}`. Built as text, field by field,
 * to the very bytes JSON.stringify gave for the objects written before (a record with its
 * buffers in base64, fields in the store's order): it cost an object copy, and a base64 of
 * the same key and value again for the history row, on every replica for every put. Base64
 * and integers need no escaping; the event type is one of two fixed words.
 */
export function kvJson(kv: KeyValue, key64 = kv.key.toString('base64')): string {
  return `{"key":"${key64}","value":"${kv.value.toString('base64')}","createRevision":${kv.createRevision},"modRevision":${kv.modRevision},"version":${kv.version},"lease":${kv.lease}}`;
}

/**
 * An event's row. `kvText`: its record's JSON when built already (the key row's), with `key64`
 * its key in base64, which the previous record shares (the same key, before).
 */
export function eventJson(
  ev: WatchEvent,
  key64 = ev.kv.key.toString('base64'),
  kvText = kvJson(ev.kv, key64),
): string {
  const { prevKv } = ev;
  const prev = prevKv
    ? `,"prevKv":${kvJson(prevKv, prevKv.key.equals(ev.kv.key) ? key64 : undefined)}`
    : '';
  return `{"type":"${ev.type}","revision":${ev.revision},"kv":${kvText}${prev}}`;
}

export interface KvRecord {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

export function kvFromRecord(j: KvRecord): KeyValue {
  return {
    key: Buffer.from(j.key, 'base64'),
    value: Buffer.from(j.value, 'base64'),
    createRevision: j.createRevision,
    modRevision: j.modRevision,
    version: j.version,
    lease: j.lease,
  };
}

export function eventFromRecord(j: {
  type: 'put' | 'delete';
  revision: number;
  kv: KvRecord;
  prevKv?: KvRecord;
}): WatchEvent {
  return {
    type: j.type,
    revision: j.revision,
    kv: kvFromRecord(j.kv),
    ...(j.prevKv ? { prevKv: kvFromRecord(j.prevKv) } : {}),
  };
}
