import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitBatches } from '@strand/wire';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { makeBatch, tempDir } from './batches.test-util.js';
import { PartitionLog } from './partition-log.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

const CONFIG = { segmentBytes: 4096, indexIntervalBytes: 256 };

/** Every offset, by a full scan through the public API. */
async function scanAll(log: PartitionLog): Promise<number[]> {
  const out: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, 1 << 20);
    for (const { header } of splitBatches(records)) {
      for (let i = 0; i <= header.lastOffsetDelta; i++) out.push(header.baseOffset + i);
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return out;
}

async function lookups(log: PartitionLog, timestamps: number[]): Promise<unknown[]> {
  const results: unknown[] = [];
  for (let o = log.logStartOffset; o < log.logEndOffset; o++) {
    const { records } = await log.read(o, 1);
    results.push(splitBatches(records)[0]!.header.baseOffset);
  }
  for (const t of timestamps) results.push(await log.offsetForTimestamp(t));
  return results;
}

describe('index damage', () => {
  it('deleting or damaging index files changes no lookup result', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 4 }), {
          minLength: 5,
          maxLength: 60,
        }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.constantFrom('delete', 'truncate', 'flip', 'garbage'),
        async (batches, seed, damage) => {
          const d = tempDir();
          dirs.push(d);
          const log = await PartitionLog.open(d.path, CONFIG);
          for (const ts of batches) {
            await log.append(
              makeBatch(ts.map((t) => ({ timestamp: t, value: Buffer.alloc(40, t % 256) }))),
            );
          }
          const probes = [-1, 0, 2500, 5000, 7500, 10_000, 10_001, seed % 10_000];
          const before = await lookups(log, probes);
          const total = await scanAll(log);
          await log.close();
          const indexes = readdirSync(d.path).filter((n) => n.endsWith('index'));
          for (const name of indexes) {
            const file = join(d.path, name);
            const bytes = readFileSync(file);
            if (damage === 'delete') rmSync(file);
            else if (damage === 'truncate')
              writeFileSync(file, bytes.subarray(0, seed % (bytes.length + 1)));
            else if (damage === 'flip' && bytes.length > 0) {
              bytes[seed % bytes.length]! ^= 1 << (seed % 8);
              writeFileSync(file, bytes);
            } else writeFileSync(file, Buffer.alloc(bytes.length, seed % 256));
          }
          const again = await PartitionLog.open(d.path, CONFIG);
          expect(await lookups(again, probes)).toEqual(before);
          expect(await scanAll(again)).toEqual(total);
          await again.close();
        },
      ),
      { numRuns: 30 },
    );
  });
});
