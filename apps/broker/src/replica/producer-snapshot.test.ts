import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartitionLog } from '@strand/log';
import { encodeBatch, stampProducer } from '@strand/wire';
import { afterEach, describe, expect, it } from 'vitest';
import {
  readProducerCheckpoint,
  saveProducerCheckpoint,
  saveProducerSnapshot,
  takeProducerSnapshot,
} from './producer-snapshot.js';
import { ProducerStateTable, recoverProducers } from './producer-state.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A log with small segments, and the table its leader keeps as it appends. */
async function leaderLog(config: { compact?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'strand-producers-'));
  dirs.push(dir);
  const log = await PartitionLog.open(join(dir, 'log'), {
    segmentBytes: 1024,
    minCleanableDirtyRatio: 0,
    ...config,
  });
  const table = new ProducerStateTable();
  const produce = async (producerId: number, seq: number, count = 1, key = 'k') => {
    const b = encodeBatch(
      Array.from({ length: count }, (_, i) => ({ key, value: Buffer.alloc(200, seq + i) })),
    );
    stampProducer(b, producerId, 0, seq);
    const admission = table.admit(header(producerId, seq, count), log.writtenOffset);
    const r = await log.append(b);
    admission?.written(r.baseOffset);
    return r.baseOffset;
  };
  return { dir, log, table, produce };
}

const header = (producerId: number, baseSequence: number, count: number) =>
  ({
    producerId,
    producerEpoch: 0,
    baseSequence,
    lastOffsetDelta: count - 1,
  }) as Parameters<ProducerStateTable['admit']>[0];

describe('rebuilding idempotent producers after a crash', () => {
  it('finds a producer whose newest batch is many segments old', async () => {
    // Regression: the rebuild read only the two newest segments, so a producer quiet since
    // then could have its last batch written twice by a retry after the restart.
    const { log, produce } = await leaderLog();
    const early = await produce(1, 0, 2);
    for (let i = 0; i < 30; i++) await produce(2, i);
    expect(log.segmentInfo().length).toBeGreaterThan(4);
    const rebuilt = await recoverProducers(log);
    expect(await rebuilt.duplicateOf(header(1, 0, 2))).toBe(early);
    expect(() => rebuilt.admit(header(1, 5, 1))).toThrow(/expected 2/);
    await log.close();
  });

  it('in a compacted log, a producer whose records were all superseded is still found', async () => {
    const { log, produce } = await leaderLog({ compact: true });
    const early = await produce(1, 0, 1, 'shared');
    for (let i = 0; i < 30; i++) await produce(2, i, 1, 'shared');
    const report = await log.clean({ bound: Number.POSITIVE_INFINITY, dedupeBufferBytes: 1 << 20 });
    expect(report.cleanedBytes).toBeGreaterThan(0);
    const rebuilt = await recoverProducers(log);
    // The cleaner kept producer 1's batch (empty now): its retry is still answered.
    expect(await rebuilt.duplicateOf(header(1, 0, 1))).toBe(early);
    expect(() => rebuilt.admit(header(1, 5, 1))).toThrow(/expected 1/);
    await log.close();
  });

  it('from a checkpoint: reads the log only from its offset, and ends with the same state', async () => {
    const { dir, log, table, produce } = await leaderLog();
    for (let i = 0; i < 10; i++) await produce(1, i);
    const at = await saveProducerCheckpoint(dir, log, table);
    expect(at).toBe(log.writtenOffset);
    const after = await produce(2, 0);
    await produce(1, 10);
    const checkpoint = await readProducerCheckpoint(dir, log);
    expect(checkpoint?.offset).toBe(at);
    const rebuilt = await recoverProducers(log, checkpoint);
    expect(rebuilt.snapshot()).toEqual((await recoverProducers(log)).snapshot());
    expect(rebuilt.snapshot()).toEqual(table.snapshot());
    expect(await rebuilt.duplicateOf(header(2, 0, 1))).toBe(after);
    await log.close();
  });

  it('a checkpoint the log no longer matches is ignored: truncated below it, or another log', async () => {
    const { dir, log, table, produce } = await leaderLog();
    for (let i = 0; i < 5; i++) await produce(1, i);
    await saveProducerCheckpoint(dir, log, table);
    await log.truncateTo(3);
    expect(await readProducerCheckpoint(dir, log)).toBeUndefined();
    // The same end again, with other batches: the last batch's CRC tells them apart.
    await produce(3, 0);
    await produce(3, 1);
    expect(await readProducerCheckpoint(dir, log)).toBeUndefined();
    writeFileSync(join(dir, 'producers.checkpoint'), '{"offset": 1, "lastBatchCrc"');
    expect(await readProducerCheckpoint(dir, log)).toBeUndefined();
    await log.close();
  });

  it('the shutdown snapshot serves one start, and only at the exact end', async () => {
    const { dir, log, table, produce } = await leaderLog();
    await produce(1, 0);
    expect(await saveProducerSnapshot(dir, log, table)).toBe(true);
    expect((await takeProducerSnapshot(dir, log))?.snapshot()).toEqual(table.snapshot());
    expect(await takeProducerSnapshot(dir, log)).toBeUndefined();
    await saveProducerSnapshot(dir, log, table);
    await produce(1, 1);
    expect(await takeProducerSnapshot(dir, log)).toBeUndefined();
    await log.close();
  });
});
