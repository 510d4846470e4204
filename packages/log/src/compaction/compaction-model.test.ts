import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock, tempDir } from '../batches.test-util.js';
import { PartitionLog } from '../partition-log.js';
import { keyedBatch, type ReadRecord, readAllRecords } from './compaction.test-util.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

const RETENTION = 10_000;
const CONFIG = {
  compact: true,
  segmentBytes: 1024,
  indexIntervalBytes: 128,
  minCleanableDirtyRatio: 0,
  deleteRetentionMs: RETENTION,
};

type Command =
  | { kind: 'produce'; records: { key: number; tombstone: boolean; size: number }[] }
  | { kind: 'clean'; budget: number }
  | { kind: 'crashInClean'; step: number }
  | { kind: 'reopen' }
  | { kind: 'crash' }
  | { kind: 'advance'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('produce' as const),
      records: fc.array(
        fc.record({
          key: fc.integer({ min: 0, max: 9 }),
          tombstone: fc.integer({ min: 0, max: 9 }).map((x) => x < 3),
          size: fc.integer({ min: 1, max: 120 }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('clean' as const),
      budget: fc.constantFrom(150, 400, 1 << 20),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('crashInClean' as const), step: fc.nat(30) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 8000 }),
    }),
  },
);

interface Produced {
  key: string;
  value: string | null;
}

/**
 * What may be in the log, given everything produced: each surviving record is the one produced
 * at its offset; the latest record of every key is there, unless it is a tombstone; a key whose
 * latest record is missing (an expired tombstone) has no record at all; offsets only go up.
 */
function check(produced: Produced[], got: ReadRecord[], end: number): void {
  expect(end).toBe(produced.length);
  const latest = new Map<string, number>();
  produced.forEach((p, i) => {
    latest.set(p.key, i);
  });
  const present = new Set<number>();
  for (const r of got) {
    const p = produced[r.offset];
    expect(p, `offset ${r.offset}`).toBeDefined();
    expect({ key: r.key, value: r.value }).toEqual(p);
    present.add(r.offset);
  }
  for (const [key, at] of latest) {
    if (present.has(at)) continue;
    expect(produced[at]!.value, `latest of ${key} at ${at} is missing`).toBeNull();
    expect(got.some((r) => r.key === key)).toBe(false);
  }
}

describe('compaction against a model', () => {
  it('random produce / tombstone / clean / crash sequences keep the log equal to the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 40 }), async (commands) => {
        const d = tempDir('strand-compact-model-');
        dirs.push(d);
        const clock = manualClock();
        const open = () => PartitionLog.open(d.path, CONFIG, { now: clock.now });
        let log = await open();
        const produced: Produced[] = [];
        let n = 0;
        try {
          for (const c of commands) {
            switch (c.kind) {
              case 'produce': {
                const records = c.records.map((r) => ({
                  key: `k${r.key}`,
                  value: r.tombstone ? null : `${n++}:${'v'.repeat(r.size)}`,
                }));
                await log.append(keyedBatch(records, { now: clock.now() }));
                produced.push(...records);
                break;
              }
              case 'clean': {
                const before = log.cleanable();
                const report = await log.clean({ bound: Infinity, dedupeBufferBytes: c.budget });
                expect(report.due).toBe(before.due);
                const { records } = await readAllRecords(log);
                check(produced, records, log.logEndOffset);
                if (report.due && !report.more && c.budget > 1000) {
                  // Everything below the dirty section's end has at most one record per key.
                  const end = log.cleanable().firstDirty;
                  const upTo = log.segmentInfo()[end]?.baseOffset ?? 0;
                  const keys = records.filter((r) => r.offset < upTo).map((r) => r.key);
                  expect(new Set(keys).size).toBe(keys.length);
                }
                break;
              }
              case 'crashInClean': {
                let i = 0;
                await log
                  .clean({
                    bound: Infinity,
                    dedupeBufferBytes: 1 << 20,
                    onStep: () => {
                      if (i++ === c.step) throw new Error('crash');
                    },
                  })
                  .catch(() => undefined);
                await log.flush();
                await log.abandon();
                log = await open();
                break;
              }
              case 'reopen':
                await log.close();
                log = await open();
                break;
              case 'crash':
                await log.flush();
                await log.abandon();
                log = await open();
                break;
              case 'advance':
                clock.advance(c.ms);
                break;
            }
            if (c.kind !== 'clean' && c.kind !== 'advance' && c.kind !== 'produce')
              check(produced, (await readAllRecords(log)).records, log.logEndOffset);
          }
          check(produced, (await readAllRecords(log)).records, log.logEndOffset);
        } finally {
          await log.close().catch(() => undefined);
        }
      }),
      { numRuns: 30 },
    );
  }, 240_000);
});
