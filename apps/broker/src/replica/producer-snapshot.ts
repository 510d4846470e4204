import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { PartitionLog } from '@strand/log';
import { lastOffsetOf, splitBatches } from '@strand/wire';
import { z } from 'zod';
import { ProducerStateTable } from './producer-state.js';

const FILE = 'producers.snapshot';
const int = z.number().int();

const SnapshotSchema = z.object({
  /** The log end the state describes: every batch below it, none above. */
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

/**
 * Saves idempotent producers' state at a clean shutdown, so the next start need not scan the
 * newest segments for it. Nothing is saved while an admitted batch is still unwritten; the
 * caller keeps other appends out (a follower's copy holds the partition lock). Returns
 * whether a snapshot was written.
 */
export async function saveProducerSnapshot(
  dir: string,
  log: PartitionLog,
  table: ProducerStateTable,
): Promise<boolean> {
  const producers = table.snapshot();
  const offset = log.writtenOffset;
  if (!producers) return false;
  const body = JSON.stringify({ offset, lastBatchCrc: await lastBatchCrc(log, offset), producers });
  const tmp = join(dir, `${FILE}.tmp`);
  await fsp.writeFile(tmp, body);
  await fsp.rename(tmp, join(dir, FILE));
  return true;
}

/**
 * The state the last clean shutdown saved, if it describes this log exactly: the same end and
 * the same last batch (anything appended, truncated or lost since makes it useless). The file
 * is removed as it is read: it serves one start only, and a later crash falls back to a scan.
 */
export async function takeProducerSnapshot(
  dir: string,
  log: PartitionLog,
): Promise<ProducerStateTable | undefined> {
  const path = join(dir, FILE);
  const text = await fsp.readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  await fsp.unlink(path).catch(() => undefined);
  let parsed: z.infer<typeof SnapshotSchema>;
  try {
    parsed = SnapshotSchema.parse(JSON.parse(text));
  } catch {
    return undefined;
  }
  if (parsed.offset !== log.writtenOffset) return undefined;
  if (parsed.lastBatchCrc !== (await lastBatchCrc(log, parsed.offset))) return undefined;
  return ProducerStateTable.fromSnapshot(parsed.producers);
}
