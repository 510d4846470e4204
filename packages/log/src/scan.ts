import {
  BATCH_HEADER_SIZE,
  type BatchHeader,
  lastOffsetOf,
  readBatchHeader,
  verifyBatchCrc,
} from '@strand/wire';
import { readAt } from './io.js';

const CHUNK = 1024 * 1024;

export interface ScannedBatch {
  position: number;
  header: BatchHeader;
}

export interface ScanOptions {
  verifyCrc: boolean;
  /**
   * Every batch must start where the previous one ended (a flipped bit in baseOffset, which
   * lies outside the CRC, is caught so). A compacted log has gaps: then a batch must only
   * start at or after that point.
   */
  dense?: boolean;
  chunkSize?: number;
}

export interface ScanResult {
  /** Bytes from the scan start that hold whole, valid batches. */
  validEnd: number;
  /** Offset after the last valid batch. */
  nextOffset: number;
  /** Why the scan stopped before `end`, if it did. */
  stop?: string;
}

/**
 * Walks the batches of a data file from `start` to `end`, reading in large chunks.
 * A batch is valid when its header parses, it lies wholly before `end`, its baseOffset is the
 * expected next offset (at or after it without `dense`) and, when `verifyCrc`, its CRC matches. The walk stops at the first invalid
 * batch; `onBatch` sees only valid ones and may return true to end the walk after this one.
 */
export async function scanBatches(
  fd: number,
  start: number,
  end: number,
  expectedOffset: number,
  opts: ScanOptions,
  onBatch?: (b: ScannedBatch) => boolean | undefined,
): Promise<ScanResult> {
  const { verifyCrc, dense = true, chunkSize = CHUNK } = opts;
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = start;
  let pos = start;
  let next = expectedOffset;
  const stop = (why: string): ScanResult => ({ validEnd: pos, nextOffset: next, stop: why });
  while (pos < end) {
    if (end - pos < BATCH_HEADER_SIZE) return stop('torn header');
    if (pos + BATCH_HEADER_SIZE > chunkStart + chunk.length) {
      chunkStart = pos;
      chunk = await readAt(fd, pos, Math.min(chunkSize, end - pos));
    }
    const size = 12 + chunk.readInt32BE(pos - chunkStart + 8);
    if (size < BATCH_HEADER_SIZE || pos + size > end) return stop('batch runs past the end');
    if (pos + size > chunkStart + chunk.length) {
      chunkStart = pos;
      chunk = await readAt(fd, pos, Math.max(size, Math.min(chunkSize, end - pos)));
    }
    const at = pos - chunkStart;
    let header: BatchHeader;
    try {
      header = readBatchHeader(chunk, at);
      if (verifyCrc) verifyBatchCrc(chunk, header, at);
    } catch (err) {
      return stop((err as Error).message);
    }
    if (dense ? header.baseOffset !== next : header.baseOffset < next)
      return stop(`baseOffset ${header.baseOffset} where ${next} was expected`);
    const done = onBatch?.({ position: pos, header }) === true;
    next = lastOffsetOf(header) + 1;
    pos += size;
    if (done) break;
  }
  return { validEnd: pos, nextOffset: next };
}
