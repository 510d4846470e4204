import type { KeyValue } from '@strand/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SnapshotView } from './snapshot-view.js';

const toJson = (kv: KeyValue) => ({
  ...kv,
  key: kv.key.toString('base64'),
  value: kv.value.toString('base64'),
});
const toText = (kv: KeyValue) => JSON.stringify(toJson(kv));

const record = fc.record({
  key: fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
  value: fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
  createRevision: fc.nat(),
  modRevision: fc.nat(),
  version: fc.nat(),
  lease: fc.nat(),
});

describe('SnapshotView', () => {
  it('serializes in slices to the same bytes as all at once, for any number of keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Across slice boundaries (4,096 keys or 1 MiB a slice): none, some, several slices.
        fc.oneof(
          fc.constant(0),
          fc.integer({ min: 1, max: 20 }),
          fc.constantFrom(4096, 4097, 9000),
        ),
        record,
        // Field names as the store's (an integer-like one would sort first in any JS object).
        fc.dictionary(fc.stringMatching(/^[a-z][A-Za-z]{0,8}$/), fc.jsonValue(), { maxKeys: 3 }),
        async (count, kv, rest) => {
          delete rest.keys;
          const keys = Array.from({ length: count }, (_, i) => ({ ...kv, version: i }));
          const view = new SnapshotView(keys, toText, rest);
          const sliced = await view.serialize();
          expect(sliced.equals(view.serializeNow())).toBe(true);
          const parsed = JSON.parse(sliced.toString()) as { keys: unknown[] };
          expect(parsed.keys).toHaveLength(count);
          expect(parsed).toEqual(JSON.parse(JSON.stringify({ keys: keys.map(toJson), ...rest })));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('slices by bytes too: large values make slices of few keys', async () => {
    const big = (i: number): KeyValue => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.alloc(400_000, i),
      createRevision: 1,
      modRevision: 1,
      version: 1,
      lease: 0,
    });
    const view = new SnapshotView(
      Array.from({ length: 7 }, (_, i) => big(i)),
      toText,
      { revision: 3 },
    );
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const bytes = await view.serialize();
    clearInterval(ticker);
    expect(bytes.equals(view.serializeNow())).toBe(true);
    expect(turns).toBeGreaterThan(0);
  });

  it('holds the records as they were when taken, whatever replaces them later', async () => {
    const keys: KeyValue[] = [
      {
        key: Buffer.from('a'),
        value: Buffer.from('1'),
        createRevision: 1,
        modRevision: 1,
        version: 1,
        lease: 0,
      },
    ];
    const view = new SnapshotView([...keys], toText, { revision: 1 });
    keys[0] = { ...keys[0]!, value: Buffer.from('2'), modRevision: 2, version: 2 };
    const parsed = JSON.parse((await view.serialize()).toString());
    expect(parsed).toEqual({
      keys: [toJson({ ...keys[0]!, value: Buffer.from('1'), modRevision: 1, version: 1 })],
      revision: 1,
    });
  });

  it('lets the event loop run between slices', async () => {
    const kv = {
      key: Buffer.from('k'),
      value: Buffer.alloc(32),
      createRevision: 1,
      modRevision: 1,
      version: 1,
      lease: 0,
    };
    const view = new SnapshotView(
      Array.from({ length: 50_000 }, () => kv),
      toText,
      {},
    );
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    await view.serialize();
    clearInterval(ticker);
    expect(turns).toBeGreaterThan(0);
  });
});
