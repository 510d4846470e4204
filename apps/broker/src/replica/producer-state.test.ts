import type { BatchHeader } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { ProducerStateTable } from './producer-state.js';

const header = (producerId: number, producerEpoch: number, baseSequence: number, count: number) =>
  ({ producerId, producerEpoch, baseSequence, lastOffsetDelta: count - 1 }) as BatchHeader;

describe('ProducerStateTable', () => {
  it('admits batches in sequence and answers a retry with the original offset', async () => {
    const t = new ProducerStateTable();
    t.admit(header(7, 0, 0, 10))?.written(100);
    t.admit(header(7, 0, 10, 5))?.written(110);
    expect(await t.duplicateOf(header(7, 0, 0, 10))).toBe(100);
    expect(t.duplicateOf(header(7, 0, 15, 1))).toBeUndefined();
  });

  it('refuses a gap and an older epoch; a newer epoch starts over', () => {
    const t = new ProducerStateTable();
    t.admit(header(7, 1, 0, 10))?.written(0);
    expect(() => t.admit(header(7, 1, 20, 1))).toThrow(/expected 10/);
    expect(() => t.admit(header(7, 0, 10, 1))).toThrow(/older/);
    expect(t.admit(header(7, 2, 0, 1))).toBeDefined();
  });

  it('a batch in flight counts for the next one; a failed one must be sent again', () => {
    const t = new ProducerStateTable();
    const a = t.admit(header(1, 0, 0, 3));
    const b = t.admit(header(1, 0, 3, 1));
    b?.failed();
    a?.failed();
    expect(() => t.admit(header(1, 0, 3, 1))).toThrow(/expected 0/);
    expect(t.admit(header(1, 0, 0, 3))).toBeDefined();
    // The table learns from followers' copies too.
    const f = new ProducerStateTable();
    f.record(header(1, 0, 0, 3), 40);
    expect(() => f.admit(header(1, 0, 5, 1))).toThrow(/expected 3/);
    expect(t.admit(header(-1, -1, -1, 5))).toBeUndefined();
  });

  it('forgetting old batches never lets one be written twice', () => {
    // Regression: many new batches pushed the old ones out of the remembered window and a
    // failed request then left the window empty, so any sequence was accepted again.
    const t = new ProducerStateTable();
    t.record(header(2, 0, 0, 4), 0);
    const pending = Array.from({ length: 100 }, (_, i) => t.admit(header(2, 0, 4 + i, 1)));
    for (const a of pending.reverse()) a?.failed();
    expect(t.duplicateOf(header(2, 0, 0, 4))).toBeUndefined();
    expect(() => t.admit(header(2, 0, 0, 4))).toThrow(/expected 4/);
  });
});

describe('ProducerStateTable snapshots', () => {
  it('round-trips every producer: retries are still recognised, the next sequence still required', async () => {
    const t = new ProducerStateTable();
    t.admit(header(7, 2, 0, 10))?.written(100);
    t.admit(header(7, 2, 10, 5))?.written(110);
    t.record(header(9, 0, 40, 2), 200);
    const back = ProducerStateTable.fromSnapshot(JSON.parse(JSON.stringify(t.snapshot())));
    expect(await back.duplicateOf(header(7, 2, 10, 5))).toBe(110);
    expect(await back.duplicateOf(header(9, 0, 40, 2))).toBe(200);
    expect(() => back.admit(header(7, 2, 20, 1))).toThrow(/expected 15/);
    expect(() => back.admit(header(7, 1, 15, 1))).toThrow(/older/);
    expect(back.admit(header(9, 0, 42, 1))).toBeDefined();
  });

  it('has no snapshot while an admitted batch is unwritten', () => {
    const t = new ProducerStateTable();
    const pending = t.admit(header(1, 0, 0, 1));
    expect(t.snapshot()).toBeUndefined();
    pending?.written(0);
    expect(t.snapshot()).toEqual([{ id: 1, epoch: 0, nextSeq: 1, recent: [[0, 0, 0]] }]);
  });
});

describe('ProducerStateTable checkpoints', () => {
  it('with nothing in flight: the whole state at the written end', () => {
    const t = new ProducerStateTable();
    t.admit(header(1, 0, 0, 2), 0)?.written(0);
    t.record(header(2, 3, 7, 1), 2);
    expect(t.checkpoint(3)).toEqual({
      offset: 3,
      producers: [
        { id: 1, epoch: 0, nextSeq: 2, recent: [[0, 1, 0]] },
        { id: 2, epoch: 3, nextSeq: 8, recent: [[7, 7, 2]] },
      ],
    });
  });

  it('stops below the lowest batch in flight and leaves out every batch from there on', () => {
    const t = new ProducerStateTable();
    t.admit(header(1, 0, 0, 2), 0)?.written(0);
    // Admitted when the log ended at 2: it lands at 2 or later, and its answer is pending.
    const inFlight = t.admit(header(1, 0, 2, 3), 2);
    // Another producer's batch, written at 5 after it (its answer came first).
    t.admit(header(2, 0, 0, 1), 2)?.written(5);
    const c = t.checkpoint(6);
    expect(c.offset).toBe(2);
    expect(c.producers).toEqual([
      { id: 1, epoch: 0, nextSeq: 2, recent: [[0, 1, 0]] },
      { id: 2, epoch: 0, nextSeq: 0, recent: [] },
    ]);
    inFlight?.written(2);
    expect(t.checkpoint(6).offset).toBe(6);
  });
});
