import type { KeyValue } from '@strand/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WatchEvent } from './kv-store.js';
import { eventFromRecord, eventJson, type KvRecord, kvFromRecord, kvJson } from './row-json.js';
import { SnapshotReader } from './snapshot-reader.js';
import { SnapshotView } from './snapshot-view.js';

// The encoders rows and snapshots were written with before: every byte must stay the same.
const oldKv = (kv: KeyValue) => ({
  ...kv,
  key: kv.key.toString('base64'),
  value: kv.value.toString('base64'),
});
const oldEvent = (ev: WatchEvent) => ({
  type: ev.type,
  revision: ev.revision,
  kv: oldKv(ev.kv),
  ...(ev.prevKv ? { prevKv: oldKv(ev.prevKv) } : {}),
});

const bytes = (maxLength: number) =>
  fc.uint8Array({ maxLength }).map((a) => Buffer.from(a.buffer, a.byteOffset, a.length));
const revision = fc.oneof(fc.nat(1000), fc.maxSafeNat());
// Fields in the order the store builds a KeyValue.
const keyValue = (key: fc.Arbitrary<Buffer>) =>
  fc
    .tuple(key, bytes(300), revision, revision, revision, fc.oneof(fc.constant(0), fc.maxSafeNat()))
    .map(
      ([k, value, createRevision, modRevision, version, lease]): KeyValue => ({
        key: k,
        value,
        createRevision,
        modRevision,
        version,
        lease,
      }),
    );
const event = fc
  .tuple(
    keyValue(bytes(40)),
    fc.constantFrom('put' as const, 'delete' as const),
    revision,
    fc.option(keyValue(bytes(40)), { nil: undefined }),
    fc.boolean(),
  )
  .map(([kv, type, rev, other, sameKey]): WatchEvent => {
    // The store's events: the previous record is of the same key (a copy of its bytes).
    const prevKv = other && (sameKey ? { ...other, key: Buffer.from(kv.key) } : other);
    return { type, kv, revision: rev, ...(prevKv ? { prevKv } : {}) };
  });

describe('row JSON', () => {
  it('builds the same bytes as JSON.stringify of the old records, and reads them back', () => {
    fc.assert(
      fc.property(keyValue(bytes(64)), (kv) => {
        const text = kvJson(kv);
        expect(text).toBe(JSON.stringify(oldKv(kv)));
        expect(kvJson(kv, kv.key.toString('base64'))).toBe(text);
        expect(kvFromRecord(JSON.parse(text) as KvRecord)).toEqual(kv);
      }),
      { numRuns: 2000 },
    );
  });

  it('builds the same event rows, with or without the record built already', () => {
    fc.assert(
      fc.property(event, (ev) => {
        const text = JSON.stringify(oldEvent(ev));
        expect(eventJson(ev)).toBe(text);
        const key64 = ev.kv.key.toString('base64');
        expect(eventJson(ev, key64, kvJson(ev.kv, key64))).toBe(text);
        expect(eventFromRecord(JSON.parse(text))).toEqual(ev);
      }),
      { numRuns: 2000 },
    );
  });

  it('snapshots: the same bytes as before, which the snapshot reader reads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(keyValue(bytes(64)), { maxLength: 200 }),
        revision,
        async (keys, rev) => {
          const rest = { revision: rev, compactRevision: 0, leases: [], format: 2, rows: [] };
          const view = new SnapshotView(keys, kvJson, rest);
          const before = JSON.stringify({ keys: keys.map(oldKv), ...rest });
          expect(view.serializeNow().toString()).toBe(before);
          expect((await view.serialize()).toString()).toBe(before);
          const reader = new SnapshotReader(view.serializeNow());
          const read: KeyValue[] = [];
          for await (const chunk of reader.keys())
            read.push(...(chunk as KvRecord[]).map(kvFromRecord));
          expect(read).toEqual(keys);
          expect(reader.rest).toEqual(rest);
        },
      ),
      { numRuns: 200 },
    );
  });
});
