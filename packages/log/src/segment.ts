import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import {
  BATCH_HEADER_SIZE,
  type BatchHeader,
  batchSize,
  CorruptBatchError,
  lastOffsetOf,
  Offsets,
  readBatchHeader,
  verifyBatchCrc,
} from '@strand/wire';
import type { FdCache } from './fd-cache.js';
import {
  closeFile,
  type FileContent,
  fdatasync,
  ftruncate,
  openFile,
  readAt,
  readFileIfExists,
  removeIfExists,
  storageError,
  writeFilesAtomic,
  writeFully,
} from './io.js';
import { scanBatches } from './scan.js';
import { SegmentIndex } from './segment-index.js';
import { firstOffsetAtOrAfter } from './timestamps.js';

const LOOKUP_CHUNK = 64 * 1024;

export function segmentFileName(baseOffset: number, ext: string): string {
  return `${String(baseOffset).padStart(20, '0')}${ext}`;
}

export interface AppendedBatch {
  /** Position of the batch inside the appended buffer. */
  position: number;
  header: BatchHeader;
}

/**
 * How a segment is opened:
 * - `exact`: trust its index files when they describe exactly the data file (sealed
 *   segments, or every segment after a clean shutdown); otherwise rebuild and verify.
 * - `prefix`: the active segment after an unclean stop. Trust the index prefix written at the
 *   last checkpoint and verify (CRC, density) only the bytes after it.
 * - `verify`: rebuild everything from the data, checking every CRC.
 */
export type OpenMode = 'exact' | 'prefix' | 'verify';

/**
 * One segment: a data file of RecordBatches plus its in-memory sparse index. Invariants:
 * `baseOffset <= nextOffset`; `size` is the length of the valid data; every index entry
 * points at a batch start below `size`.
 */
export class LogSegment {
  readonly dataPath: string;
  readonly offsetIndexPath: string;
  readonly timeIndexPath: string;
  size = 0;
  nextOffset: number;
  maxTimestamp = -1;
  lastAppendTime: number;
  /**
   * The first batch's max timestamp (how Kafka dates a segment for max.compaction.lag.ms);
   * undefined until known: an empty segment, or one opened from its index files and not yet
   * asked (see loadFirstBatchTime).
   */
  firstBatchTime: number | undefined;
  private index = new SegmentIndex();
  private bytesSinceEntry = 0;

  private constructor(
    dir: string,
    readonly baseOffset: number,
    private readonly fds: FdCache,
    readonly createdAt: number,
    private readonly indexIntervalBytes: number,
    /** Batches may start after the previous one's end (a compacted log): see ScanOptions. */
    public gaps: boolean,
  ) {
    this.dataPath = join(dir, segmentFileName(baseOffset, '.log'));
    this.offsetIndexPath = join(dir, segmentFileName(baseOffset, '.index'));
    this.timeIndexPath = join(dir, segmentFileName(baseOffset, '.timeindex'));
    this.nextOffset = baseOffset;
    this.lastAppendTime = createdAt;
  }

  get indexEntries(): number {
    return this.index.length;
  }

  /** Learns the first batch's time from its header when it is not known yet. */
  async loadFirstBatchTime(): Promise<number | undefined> {
    if (this.firstBatchTime !== undefined || this.size < BATCH_HEADER_SIZE)
      return this.firstBatchTime;
    const buf = await this.fds.use(this.dataPath, (fd) => readAt(fd, 0, BATCH_HEADER_SIZE));
    // The header alone (readBatchHeader wants the whole batch): its magic, then the field.
    if (buf.length === BATCH_HEADER_SIZE && buf.readInt8(Offsets.magic) === 2)
      this.firstBatchTime = Number(buf.readBigInt64BE(Offsets.maxTimestamp));
    return this.firstBatchTime;
  }

  static async create(
    dir: string,
    baseOffset: number,
    fds: FdCache,
    now: number,
    indexIntervalBytes: number,
    gaps = false,
  ): Promise<LogSegment> {
    const seg = new LogSegment(dir, baseOffset, fds, now, indexIntervalBytes, gaps);
    // A segment removed from this base earlier may have been reopened by a late reader:
    // no descriptor of that file may serve the new one.
    await fds.forget(seg.dataPath);
    const fd = await openFile(seg.dataPath, 'w');
    await closeFile(fd);
    await seg.removeIndexFiles();
    return seg;
  }

  /**
   * Opens an existing segment; returns it, whether its data had to be cut short, and whether
   * its index files described all of its data (nothing needed verifying).
   */
  static async open(
    dir: string,
    baseOffset: number,
    fds: FdCache,
    now: number,
    indexIntervalBytes: number,
    mode: OpenMode,
    gaps = false,
  ): Promise<{ segment: LogSegment; truncated: boolean; indexed: boolean }> {
    const seg = new LogSegment(dir, baseOffset, fds, now, indexIntervalBytes, gaps);
    const fileSize = (await fsp.stat(seg.dataPath)).size;
    let verifiedFrom = 0;
    if (mode !== 'verify') {
      const [off, time] = await Promise.all([
        readFileIfExists(seg.offsetIndexPath),
        readFileIfExists(seg.timeIndexPath),
      ]);
      const decoded = SegmentIndex.decode(off, time, baseOffset, fileSize, mode === 'prefix');
      if (decoded) {
        seg.index = decoded.index;
        seg.size = decoded.summary.dataSize;
        seg.nextOffset = decoded.summary.nextOffset;
        seg.maxTimestamp = decoded.summary.maxTimestamp;
        seg.lastAppendTime = decoded.summary.lastAppendTime;
        const last = seg.index.length > 0 ? seg.index.positionAt(seg.index.length - 1) : 0;
        seg.bytesSinceEntry = seg.size - last;
        if (seg.size === fileSize) return { segment: seg, truncated: false, indexed: true };
        verifiedFrom = seg.size;
      }
    }
    if (verifiedFrom === 0) seg.resetIndex();
    const truncated = await seg.recoverTail(verifiedFrom, fileSize);
    return { segment: seg, truncated, indexed: false };
  }

  /**
   * Appends already-validated, offset-patched batches held in `buf`, synced first with `sync`.
   * On any failure nothing of it stays: the file is cut back to where it started.
   */
  async append(buf: Buffer, batches: AppendedBatch[], now: number, sync = false): Promise<void> {
    const position = this.size;
    try {
      await this.fds.use(this.dataPath, async (fd) => {
        await writeFully(fd, buf, position);
        if (sync) await fdatasync(fd);
      });
    } catch (err) {
      // Leave no partial batch behind: cut the file back to where this append started.
      await this.fds.use(this.dataPath, (fd) => ftruncate(fd, position)).catch(() => undefined);
      throw storageError(err, `append to ${this.dataPath}`);
    }
    for (const b of batches) this.track(position + b.position, b.header);
    this.size = position + buf.length;
    this.lastAppendTime = now;
  }

  /**
   * Raw batches from `position`: whole batches only, none whose last offset is >= `maxOffset`,
   * at most `maxBytes`. A first batch larger than that is read whole with `minOneBatch`;
   * without it nothing is read and `firstBatchBytes` says how large it is (so a caller can
   * make room first). Every batch's CRC is checked: corrupt bytes are never served — the
   * good batches before them are, and the error is thrown only when the first one is bad.
   */
  async read(
    position: number,
    expectedOffset: number,
    maxBytes: number,
    maxOffset: number,
    minOneBatch = true,
  ): Promise<{ records: Buffer; firstBatchBytes?: number }> {
    const limit = this.size;
    if (position >= limit) return { records: Buffer.alloc(0) };
    return this.fds.use(this.dataPath, async (fd) => {
      let buf: Buffer = await readAt(
        fd,
        position,
        Math.min(Math.max(maxBytes, BATCH_HEADER_SIZE), limit - position),
      );
      let pos = 0;
      while (pos + BATCH_HEADER_SIZE <= buf.length) {
        const size = 12 + buf.readInt32BE(pos + 8);
        if (pos > 0 && (size < BATCH_HEADER_SIZE || pos + size > buf.length)) break;
        if (pos === 0 && size > buf.length) {
          if (size > limit - position || size < BATCH_HEADER_SIZE)
            throw new CorruptBatchError(`batch at ${position} claims ${size} bytes`);
          // Only its header is here: its last offset, for the bound.
          const last = Number(buf.readBigInt64BE(0)) + buf.readInt32BE(Offsets.lastOffsetDelta);
          if (last >= maxOffset) break;
          if (!minOneBatch) return { records: Buffer.alloc(0), firstBatchBytes: size };
          buf = await readAt(fd, position, size);
        }
        const h = readBatchHeader(buf, pos);
        if (lastOffsetOf(h) >= maxOffset) break;
        try {
          verifyBatchCrc(buf, h, pos);
          if (this.gaps ? h.baseOffset < expectedOffset : h.baseOffset !== expectedOffset)
            throw new CorruptBatchError(
              `batch at ${position + pos} has baseOffset ${h.baseOffset}, expected ${expectedOffset}`,
            );
        } catch (err) {
          if (pos === 0) throw err;
          break; // serve what precedes it; the next read, from there, reports it
        }
        expectedOffset = lastOffsetOf(h) + 1;
        pos += size;
      }
      return { records: buf.subarray(0, pos) };
    });
  }

  /** Position of the batch holding `offset` (undefined when the segment has no such batch). */
  async positionOf(offset: number): Promise<{ position: number; header: BatchHeader } | undefined> {
    if (offset < this.baseOffset || offset >= this.nextOffset) return undefined;
    const entry = this.index.floorOffset(offset - this.baseOffset);
    const found = await this.findFrom(entry, (h) => lastOffsetOf(h) >= offset);
    if (found) return found;
    // The index pointed somewhere wrong (damaged): walk from the start instead.
    return entry.position === 0
      ? undefined
      : this.findFrom({ relOffset: 0, position: 0 }, (h) => lastOffsetOf(h) >= offset);
  }

  /** First offset >= `minOffset` in this segment whose record timestamp is >= t. */
  async offsetForTimestamp(t: number, minOffset: number): Promise<number | undefined> {
    if (this.maxTimestamp < t || minOffset >= this.nextOffset) return undefined;
    const match = (h: BatchHeader) => h.maxTimestamp >= t && lastOffsetOf(h) >= minOffset;
    let from = this.index.floorTimestamp(t);
    const byOffset = this.index.floorOffset(Math.max(0, minOffset - this.baseOffset));
    if (byOffset.position > from.position) from = byOffset;
    let found = await this.findFrom(from, match);
    if (!found && from.position !== 0)
      found = await this.findFrom({ relOffset: 0, position: 0 }, match);
    while (found) {
      const { position, header } = found;
      const batch = await this.fds.use(this.dataPath, (fd) =>
        readAt(fd, position, batchSize(header)),
      );
      const offset = firstOffsetAtOrAfter(batch, header, t, minOffset);
      if (offset !== undefined) return offset;
      const after = {
        relOffset: lastOffsetOf(header) + 1 - this.baseOffset,
        position: position + batchSize(header),
      };
      found = after.position < this.size ? await this.findFrom(after, match) : undefined;
    }
    return undefined;
  }

  /** Drops every batch from the one holding `offset` on; returns the new next offset. */
  async truncateTo(offset: number): Promise<number> {
    const at = await this.positionOf(offset);
    if (!at) return this.nextOffset;
    await this.fds.use(this.dataPath, async (fd) => {
      await ftruncate(fd, at.position);
      await fdatasync(fd);
    });
    this.index.truncateToPosition(at.position);
    const from = this.index.length > 0 ? this.index.positionAt(this.index.length - 1) : 0;
    const fromRel = this.index.length > 0 ? this.index.relOffsetAt(this.index.length - 1) : 0;
    this.size = at.position;
    if (this.size === 0) this.firstBatchTime = undefined;
    // In a compacted log `offset` may fall in a gap before that batch: the end never passes it.
    this.nextOffset = Math.min(at.header.baseOffset, offset);
    // Recompute max timestamp and the index counter over the tail after the last entry.
    this.maxTimestamp = this.index.length > 0 ? this.index.timestampAt(this.index.length - 1) : -1;
    this.bytesSinceEntry = 0;
    await this.fds.use(this.dataPath, (fd) =>
      scanBatches(
        fd,
        from,
        this.size,
        this.baseOffset + fromRel,
        { verifyCrc: false, dense: !this.gaps },
        ({ header }) => {
          this.maxTimestamp = Math.max(this.maxTimestamp, header.maxTimestamp);
          this.bytesSinceEntry += batchSize(header);
          return false;
        },
      ),
    );
    return this.nextOffset;
  }

  async flush(): Promise<void> {
    try {
      await this.fds.use(this.dataPath, (fd) => fdatasync(fd));
    } catch (err) {
      throw storageError(err, `flush ${this.dataPath}`);
    }
  }

  /**
   * Makes the segment's state durable: data synced, then index files written atomically.
   * Used on roll (the segment is closed for good); the active segment's index is written
   * with its log's checkpoint instead (see PartitionLog).
   */
  async persistIndex(): Promise<void> {
    // Capture first: appends after this point are not covered by the sync below.
    const files = this.indexFiles();
    await this.flush();
    await writeFilesAtomic(files);
  }

  /** The index files describing the data written so far (the time index first). */
  indexFiles(): FileContent[] {
    const { offsetIndex, timeIndex } = this.index.encode({
      dataSize: this.size,
      nextOffset: this.nextOffset,
      maxTimestamp: this.maxTimestamp,
      lastAppendTime: this.lastAppendTime,
    });
    return [
      { path: this.timeIndexPath, data: timeIndex },
      { path: this.offsetIndexPath, data: offsetIndex },
    ];
  }

  async removeIndexFiles(): Promise<void> {
    await removeIfExists(this.offsetIndexPath);
    await removeIfExists(this.timeIndexPath);
  }

  async remove(): Promise<void> {
    await this.fds.forget(this.dataPath);
    await this.removeIndexFiles();
    await removeIfExists(this.dataPath);
  }

  private track(position: number, h: BatchHeader): void {
    if (position === 0) this.firstBatchTime = h.maxTimestamp;
    this.maxTimestamp = Math.max(this.maxTimestamp, h.maxTimestamp);
    if (this.bytesSinceEntry >= this.indexIntervalBytes) {
      this.index.append(h.baseOffset - this.baseOffset, position, this.maxTimestamp);
      this.bytesSinceEntry = 0;
    }
    this.bytesSinceEntry += batchSize(h);
    this.nextOffset = lastOffsetOf(h) + 1;
  }

  private resetIndex(): void {
    this.index = new SegmentIndex();
    this.size = 0;
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = -1;
    this.firstBatchTime = undefined;
    this.bytesSinceEntry = 0;
  }

  /** Verifies [from, fileSize) batch by batch, indexing it; cuts off anything invalid. */
  private async recoverTail(from: number, fileSize: number): Promise<boolean> {
    const result = await this.fds.use(this.dataPath, (fd) =>
      scanBatches(
        fd,
        from,
        fileSize,
        this.nextOffset,
        { verifyCrc: true, dense: !this.gaps },
        ({ position, header }) => {
          this.track(position, header);
          return false;
        },
      ),
    );
    this.size = result.validEnd;
    if (result.validEnd === fileSize) return false;
    await this.fds.use(this.dataPath, async (fd) => {
      await ftruncate(fd, result.validEnd);
      await fdatasync(fd);
    });
    return true;
  }

  private async findFrom(
    entry: { relOffset: number; position: number },
    match: (h: BatchHeader) => boolean,
  ): Promise<{ position: number; header: BatchHeader } | undefined> {
    let found: { position: number; header: BatchHeader } | undefined;
    await this.fds.use(this.dataPath, (fd) =>
      scanBatches(
        fd,
        entry.position,
        this.size,
        this.baseOffset + entry.relOffset,
        { verifyCrc: false, dense: !this.gaps, chunkSize: LOOKUP_CHUNK },
        (b) => {
          if (!match(b.header)) return false;
          found = b;
          return true;
        },
      ),
    );
    return found;
  }
}
