import { splitBatches } from '@strand/wire';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { makeBatch, manualClock, tempDir } from './batches.test-util.js';
import { PartitionLog } from './partition-log.js';

/** The simple in-memory model: a list of batches, each a run of records with timestamps. */
interface ModelBatch {
  base: number;
  timestamps: number[];
}
interface Model {
  batches: ModelBatch[];
  start: number;
  end: number;
}

type Command =
  | { kind: 'append'; batches: number[][] }
  | { kind: 'read'; at: number; maxBytes: number }
  | { kind: 'time'; t: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'retention'; boundAt: number }
  | { kind: 'reopen' }
  | { kind: 'crash' };

const ts = fc.integer({ min: 0, max: 1000 });
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      batches: fc.array(fc.array(ts, { minLength: 1, maxLength: 5 }), {
        minLength: 1,
        maxLength: 3,
      }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      maxBytes: fc.integer({ min: 1, max: 3000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('time' as const),
      t: fc.integer({ min: -1, max: 1001 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('truncate' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('retention' as const),
      boundAt: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash' as const }) },
);

function modelTimeLookup(m: Model, t: number): number | undefined {
  for (const b of m.batches) {
    for (let i = 0; i < b.timestamps.length; i++) {
      if (b.base + i >= m.start && b.timestamps[i]! >= t) return b.base + i;
    }
  }
  return undefined;
}

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

describe('PartitionLog against an in-memory model', () => {
  it('offsets, reads, timestamp lookups, truncation, retention and restarts agree with the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 40 }), async (commands) => {
        const d = tempDir();
        dirs.push(d);
        const clock = manualClock();
        const config = { segmentBytes: 1024, indexIntervalBytes: 128, retentionBytes: 2048 };
        let log = await PartitionLog.open(d.path, config, { now: clock.now });
        const m: Model = { batches: [], start: 0, end: 0 };
        for (const c of commands) {
          clock.advance(10);
          switch (c.kind) {
            case 'append': {
              const buf = Buffer.concat(
                c.batches.map((b) =>
                  makeBatch(b.map((t) => ({ timestamp: t, value: Buffer.alloc(60, t % 256) }))),
                ),
              );
              const r = await log.append(buf);
              expect(r.baseOffset).toBe(m.end);
              for (const b of c.batches) {
                m.batches.push({ base: m.end, timestamps: b });
                m.end += b.length;
              }
              expect(r.lastOffset).toBe(m.end - 1);
              break;
            }
            case 'read': {
              if (m.end === m.start) break;
              const offset = Math.min(m.end - 1, m.start + Math.floor(c.at * (m.end - m.start)));
              const { records } = await log.read(offset, c.maxBytes);
              const got = splitBatches(records);
              expect(got.length).toBeGreaterThan(0);
              const first = got[0]!.header;
              expect(first.baseOffset).toBeLessThanOrEqual(offset);
              expect(first.baseOffset + first.lastOffsetDelta).toBeGreaterThanOrEqual(offset);
              let next = first.baseOffset;
              for (const { header } of got) {
                const mb = m.batches.find((b) => b.base === header.baseOffset)!;
                expect(mb).toBeDefined();
                expect(header.baseOffset).toBe(next);
                expect(header.recordCount).toBe(mb.timestamps.length);
                expect(header.maxTimestamp).toBe(Math.max(...mb.timestamps));
                next += header.recordCount;
              }
              break;
            }
            case 'time':
              expect(await log.offsetForTimestamp(c.t)).toBe(modelTimeLookup(m, c.t));
              break;
            case 'truncate': {
              if (m.end === m.start) break;
              const offset = Math.min(m.end - 1, m.start + Math.floor(c.at * (m.end - m.start)));
              const holder = m.batches.find(
                (b) => b.base <= offset && offset < b.base + b.timestamps.length,
              )!;
              expect(await log.truncateTo(offset)).toBe(holder.base);
              m.batches = m.batches.filter((b) => b.base < holder.base);
              m.end = holder.base;
              break;
            }
            case 'retention': {
              const bound = m.start + Math.floor(c.boundAt * (m.end - m.start));
              const before = log.segmentCount;
              const deleted = await log.applyRetention(bound);
              expect(log.segmentCount).toBe(before - deleted);
              expect(log.segmentCount).toBeGreaterThanOrEqual(1);
              const start = log.logStartOffset;
              expect(start).toBeGreaterThanOrEqual(m.start);
              if (deleted > 0) expect(start).toBeLessThanOrEqual(bound);
              if (start !== m.start)
                expect(m.batches.some((b) => b.base === start) || start === m.end).toBe(true);
              m.start = start;
              m.batches = m.batches.filter((b) => b.base + b.timestamps.length > start);
              break;
            }
            case 'reopen':
              await log.close();
              log = await PartitionLog.open(d.path, config, { now: clock.now });
              break;
            case 'crash':
              await log.flush();
              await log.abandon();
              log = await PartitionLog.open(d.path, config, { now: clock.now });
              break;
          }
          const o = log.offsets();
          expect(o.logStartOffset).toBe(m.start);
          expect(o.endOffset).toBe(m.end);
          expect(o.flushedOffset).toBeLessThanOrEqual(o.writtenOffset);
          expect(o.writtenOffset).toBeLessThanOrEqual(o.endOffset);
        }
        await log.close();
      }),
      { numRuns: 40 },
    );
  });
});
