import type { KeyValue } from '@strand/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kvJson } from './row-json.js';
import { SnapshotFormatError, SnapshotReader } from './snapshot-reader.js';
import { SnapshotView } from './snapshot-view.js';

// The records as the store wrote them before they were built as text: base64 strings, numbers.
const toJson = (kv: KeyValue) => ({
  ...kv,
  key: kv.key.toString('base64'),
  value: kv.value.toString('base64'),
});

async function readAll(bytes: Buffer): Promise<{ keys: unknown[]; rest: Record<string, unknown> }> {
  const reader = new SnapshotReader(bytes);
  const keys: unknown[] = [];
  for await (const chunk of reader.keys()) keys.push(...chunk);
  return { keys, rest: reader.rest };
}

const records = (count: number, valueBytes: number): KeyValue[] =>
  Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`key/${i}`),
    value: Buffer.alloc(valueBytes, i % 251),
    createRevision: i + 1,
    modRevision: i + 2,
    version: 1,
    lease: i % 3,
  }));

// Fields after the keys whose strings hold what separates records: only the keys are split.
const rest = {
  revision: 7,
  compactRevision: 2,
  leases: [
    { id: 1, ttlMs: 500, owner: 'User:a},{b}]' },
    { id: 2, ttlMs: 900 },
  ],
  format: 1,
};

describe('SnapshotReader', () => {
  it('reads back what SnapshotView wrote, across chunks of 1 MiB, for any number of keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 2, 7000, 20_000),
        fc.integer({ min: 0, max: 300 }),
        async (count, valueBytes) => {
          const keys = records(count, valueBytes);
          const bytes = await new SnapshotView(keys, kvJson, rest).serialize();
          const read = await readAll(bytes);
          expect(read.rest).toEqual(rest);
          expect(read.keys).toEqual(keys.map(toJson));
        },
      ),
      { numRuns: 12 },
    );
  });

  it("reads an earlier release's snapshot: one JSON.stringify, keys after the revisions", async () => {
    const keys = records(9000, 150).map(toJson);
    const { leases, format, revision, compactRevision } = rest;
    const bytes = Buffer.from(JSON.stringify({ revision, compactRevision, keys, leases, format }));
    const read = await readAll(bytes);
    expect(read.keys).toEqual(keys);
    expect(read.rest).toEqual(rest);
    const none = await readAll(
      Buffer.from(JSON.stringify({ revision: 0, compactRevision: 0, keys: [], leases: [] })),
    );
    expect(none).toEqual({ keys: [], rest: { revision: 0, compactRevision: 0, leases: [] } });
  });

  it('yields to the event loop between chunks', async () => {
    const bytes = await new SnapshotView(records(30_000, 100), kvJson, rest).serialize();
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    await readAll(bytes);
    clearInterval(ticker);
    expect(turns).toBeGreaterThan(0);
  });

  it('refuses bytes that are not a snapshot, with a typed error', async () => {
    expect(() => new SnapshotReader(Buffer.from('{"revision":1}'))).toThrow(SnapshotFormatError);
    expect(() => new SnapshotReader(Buffer.from('{"keys":[{"a":1}'))).toThrow(SnapshotFormatError);
    await expect(readAll(Buffer.from('{"keys":[{"a":1},{"b"}]}'))).rejects.toThrow(SyntaxError);
  });
});
