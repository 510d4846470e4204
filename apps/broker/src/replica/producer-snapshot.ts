import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { PartitionLog } from '@strand/log';
import { lastOffsetOf, splitBatches } from '@strand/wire';
import { z } from 'zod';
import { type ProducerCheckpoint, ProducerStateTable } from './producer-state.js';

/** Written at a clean shutdown: the exact state at the log's end, for one start. */
const SNAPSHOT = 'producers.snapshot';
/** Written every few seconds while running: where a rebuild after a crash starts. */
const CHECKPOINT = 'producers.checkpoint';
const int = z.number().int();

const StateFileSchema = z.object({
  /** The log offset the state describes: every batch below it, none above. */
  offset: int.min(0),
  /** The CRC of the batch ending at `offset - 1` (-1 for an empty log): which log it was. */
  lastBatchCrc: int,
  producers: z.array(
    z.object({ id: int, epoch: int, nextSeq: int, recent: z.array(z.tuple([int, int, int])) }),
  ),
});

async function lastBatchCrc(log: PartitionLog, end: number): Promise<number> {
  if (end <= log.logStartOffset) return -1;
  const { records } = await log.read(end - 1, 1);
  const last = splitBatches(records, false)[0];
  return last && lastOffsetOf(last.header) === end - 1 ? last.header.crc : -2;
}

async function writeState(path: string, log: PartitionLog, state: ProducerCheckpoint) {
  const body = JSON.stringify({
    offset: state.offset,
    lastBatchCrc: await lastBatchCrc(log, state.offset),
    producers: state.producers,
  });
  await fsp.writeFile(`${path}.tmp`, body);
  await fsp.rename(`${path}.tmp`, path);
}

/**
 * The state in a file, if it describes this log: an offset the log still reaches, with the
 * same batch ending there (anything truncated, lost or rewritten since makes it useless).
 */
async function readState(path: string, log: PartitionLog): Promise<ProducerCheckpoint | undefined> {
  const text = await fsp.readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let parsed: z.infer<typeof StateFileSchema>;
  try {
    parsed = StateFileSchema.parse(JSON.parse(text));
  } catch {
    return undefined;
  }
  if (parsed.offset > log.writtenOffset) return undefined;
  if (parsed.lastBatchCrc !== (await lastBatchCrc(log, parsed.offset))) return undefined;
  return { offset: parsed.offset, producers: parsed.producers };
}

/**
 * Saves idempotent producers' state at a clean shutdown, so the next start need not scan the
 * log for it. Nothing is saved while an admitted batch is still unwritten; the caller keeps
 * other appends out (a follower's copy holds the partition lock). Returns whether a snapshot
 * was written.
 */
export async function saveProducerSnapshot(
  dir: string,
  log: PartitionLog,
  table: ProducerStateTable,
): Promise<boolean> {
  const producers = table.snapshot();
  if (!producers) return false;
  await writeState(join(dir, SNAPSHOT), log, { offset: log.writtenOffset, producers });
  return true;
}

/**
 * The state the last clean shutdown saved, if it describes this log exactly: the same end and
 * the same last batch. The file is removed as it is read: it serves one start only, and a
 * later crash falls back to the checkpoint and the log.
 */
export async function takeProducerSnapshot(
  dir: string,
  log: PartitionLog,
): Promise<ProducerStateTable | undefined> {
  const path = join(dir, SNAPSHOT);
  const state = await readState(path, log);
  await fsp.unlink(path).catch(() => undefined);
  if (!state || state.offset !== log.writtenOffset) return undefined;
  return ProducerStateTable.fromSnapshot(state.producers);
}

/**
 * Saves the state as of a recent offset while appends go on, so that a rebuild after a crash
 * reads the log only from there. The caller keeps followers' copies out (the partition lock);
 * a leader's batches in flight are left for the rebuild (see `ProducerStateTable.checkpoint`).
 * Returns the offset saved.
 */
export async function saveProducerCheckpoint(
  dir: string,
  log: PartitionLog,
  table: ProducerStateTable,
): Promise<number> {
  const state = table.checkpoint(log.writtenOffset);
  await writeState(join(dir, CHECKPOINT), log, state);
  return state.offset;
}

/** The last checkpoint, if this log still has the batches it counted. */
export function readProducerCheckpoint(
  dir: string,
  log: PartitionLog,
): Promise<ProducerCheckpoint | undefined> {
  return readState(join(dir, CHECKPOINT), log);
}
