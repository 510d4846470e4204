import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { DiskGuard } from '@strand/disk';
import {
  CorruptBatchError,
  InvalidRequestError,
  isNoSpaceError,
  LogClosedError,
  lastOffsetOf,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  type StrandError,
  setBaseOffset,
  setPartitionLeaderEpoch,
  splitBatches,
} from '@strand/wire';
import { BackgroundWork } from './background.js';
import { checkpointFile, isObsoleteFile, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import {
  type CleanOptions,
  type CleanReport,
  type CleanTarget,
  cleanLog,
} from './compaction/cleaner.js';
import { type Cleanable, cleanable } from './compaction/plan.js';
import {
  type CleanerState,
  cutCleanerState,
  EMPTY_CLEANER_STATE,
  readCleanerState,
  writeCleanerState,
} from './compaction/state.js';
import {
  cleanedPath,
  commitCleaned,
  completeSwap,
  GAPS_MARKER,
  recoverSwaps,
  type StepHook,
} from './compaction/swap.js';
import { type LogConfig, type LogConfigInput, parseLogConfig } from './config.js';
import { FdCache } from './fd-cache.js';
import {
  closeFile,
  fsyncDir,
  openFile,
  readFileIfExists,
  removeIfExists,
  storageError,
  writeFilesAtomic,
} from './io.js';
import { Mutex } from './mutex.js';
import { type RetainedSegment, segmentsToDelete } from './retention.js';
import { type AppendedBatch, LogSegment, type OpenMode } from './segment.js';

/** Appends waiting for the writer are combined into writes of at most this many bytes. */
const GROUP_BYTES = 4 * 1024 * 1024;

interface PendingAppend {
  buf: Buffer;
  batches: AppendedBatch[];
  leaderEpoch: number | undefined;
  resolve: (r: AppendResult) => void;
  reject: (err: unknown) => void;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

export interface ReadResult {
  /** Whole RecordBatches, exactly as appended (baseOffset patched). */
  records: Buffer;
  logStartOffset: number;
  logEndOffset: number;
  /** Without `minOneBatch`: nothing was read, the first batch alone is this many bytes. */
  firstBatchBytes?: number;
}

export interface OpenOptions {
  /** Shared fd cache (a LogManager passes its own); a private one is made otherwise. */
  fds?: FdCache;
  /** Shared scheduler of background syncs and checkpoints (likewise). */
  background?: BackgroundWork;
  /**
   * The disk's guard: while the disk is full appends are refused at once (STORAGE_FULL), and
   * the checkpoints that keep the log consistent still find room.
   */
  space?: DiskGuard;
  now?: () => number;
  /** How often the active segment's index and the recovery point are made durable. */
  checkpointIntervalMs?: number;
  /** Told how long each flush (fsync) took, in seconds (the broker's latency histogram). */
  onFlush?: (seconds: number) => void;
}

export interface OffsetsSnapshot {
  logStartOffset: number;
  flushedOffset: number;
  writtenOffset: number;
  endOffset: number;
}

/**
 * One partition's log: a directory of segments, the last one active.
 *
 * Offsets, always `logStartOffset <= flushedOffset <= writtenOffset <= endOffset` except that
 * the log start may pass the flushed offset after deleteRecords:
 * - endOffset: the offset the next append gets (includes an append being written);
 * - writtenOffset: everything below was written to the files (readers see up to here);
 * - flushedOffset: everything below was fsynced.
 */
/** What a log's open recovered after files were not closed cleanly. */
export interface LogRecovery {
  /** A torn or inconsistent tail was cut (what was not acknowledged as flushed). */
  truncated: boolean;
  /** Where the files were last known good (the checkpoint's recovery point). */
  from: number;
  logEndOffset: number;
  ms: number;
}

export class PartitionLog {
  private segments: LogSegment[] = [];
  private startOffset = 0;
  private end = 0;
  private written = 0;
  private flushed = 0;
  private recoveryPoint = 0;
  private unflushedBytes = 0;
  private closed = false;
  /**
   * Changes made (appends, truncations, retention...), and how many of them the checkpoint on
   * disk covers: when they are equal the files say everything (the checkpoint's recovery point
   * is the log end and the active index describes all of its data), so closing costs nothing.
   */
  private changes = 0;
  private checkpointed = -1;
  private readonly writeLock = new Mutex();
  private readonly queue: PendingAppend[] = [];
  private draining = false;
  /** A failed background sync; the next append reports it (and the log needs a restart). */
  private flushError: unknown;
  private readonly flushLock = new Mutex();
  /** Bumped when the end moves back (truncateTo, resetTo): a sync begun before proves nothing. */
  private rewinds = 0;
  /**
   * The log may have gaps between batches (it was compacted here, or copied from a compacted
   * leader): from then on batches need only go forward, not be dense. Kept as a marker file.
   */
  private gaps = false;
  /** Bumped when the cleaner swaps segments in; a read that saw a swap starts again. */
  private swaps = 0;
  private swapping: Promise<void> | undefined;
  private cleaner: CleanerState = EMPTY_CLEANER_STATE;
  /** How the last open found the files, once, for whoever hosts the log to report. */
  private recovery: LogRecovery | undefined;

  /** Background work of this log: one function each, so the scheduler queues each once. */
  private readonly syncTask = () => this.backgroundSync();
  private readonly checkpointTask = () => this.checkpoint();

  private constructor(
    readonly dir: string,
    private config: LogConfig,
    private readonly fds: FdCache,
    private readonly background: BackgroundWork,
    private readonly owned: { fds: boolean; background: boolean },
    private readonly now: () => number,
    private readonly checkpointIntervalMs: number,
    private readonly onFlush: ((seconds: number) => void) | undefined,
    private readonly space: DiskGuard | undefined,
  ) {}

  static async open(
    dir: string,
    config: LogConfigInput = {},
    opts: OpenOptions = {},
  ): Promise<PartitionLog> {
    const log = new PartitionLog(
      dir,
      parseLogConfig(config),
      opts.fds ?? new FdCache(16),
      opts.background ?? new BackgroundWork(),
      { fds: opts.fds === undefined, background: opts.background === undefined },
      opts.now ?? Date.now,
      opts.checkpointIntervalMs ?? 10_000,
      opts.onFlush,
      opts.space,
    );
    try {
      await log.load();
    } catch (err) {
      await log.abandon();
      throw err;
    }
    return log;
  }

  get logStartOffset(): number {
    return this.startOffset;
  }
  /** Offset of the next record to be appended. */
  get logEndOffset(): number {
    return this.end;
  }
  get writtenOffset(): number {
    return this.written;
  }
  get flushedOffset(): number {
    return this.flushed;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  /** Bytes in the segments' data files (what retention.bytes counts). */
  get sizeBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  offsets(): OffsetsSnapshot {
    return {
      logStartOffset: this.startOffset,
      flushedOffset: this.flushed,
      writtenOffset: this.written,
      endOffset: this.end,
    };
  }

  /** Retention-relevant facts of each segment, oldest first (for tests and tools). */
  segmentInfo(): RetainedSegment[] {
    return this.segments.map((s) => ({
      baseOffset: s.baseOffset,
      nextOffset: s.nextOffset,
      size: s.size,
      maxTimestamp: s.maxTimestamp,
      lastAppendTime: s.lastAppendTime,
      firstBatchTime: s.firstBatchTime,
    }));
  }

  /** The part of the config the cleaner and the broker read back. */
  get compacted(): boolean {
    return this.config.compact;
  }

  /** Applies new settings to an open log (segment size, retention, durability...). */
  reconfigure(config: LogConfigInput): void {
    this.config = parseLogConfig(config);
  }

  /**
   * Appends one or more whole RecordBatches. Every header and CRC is checked first; one bad
   * batch rejects the whole call and changes nothing. Offsets are assigned here (baseOffset
   * is patched in `batches`, which the caller hands over). Resolves once written, and once
   * synced as well under the `always` policy.
   */
  async append(batches: Buffer, opts: { leaderEpoch?: number } = {}): Promise<AppendResult> {
    const parsed = this.checkAppend(batches);
    for (const { header } of parsed) {
      if (header.recordCount < 1 || header.lastOffsetDelta !== header.recordCount - 1) {
        throw new CorruptBatchError(
          `batch has recordCount ${header.recordCount} and lastOffsetDelta ${header.lastOffsetDelta}`,
        );
      }
    }
    const result = await new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({
        buf: batches,
        batches: parsed,
        leaderEpoch: opts.leaderEpoch,
        resolve,
        reject,
      });
      if (!this.draining) this.drain();
    });
    await this.afterAppend();
    return result;
  }

  /**
   * Appends batches copied from the leader's log (a follower), keeping their offsets: each
   * starts at or after the end of the one before (a compacted leader's log has gaps and empty
   * batches) and nowhere before this log's end. Every header and CRC is checked first.
   */
  async appendCopy(batches: Buffer): Promise<AppendResult> {
    const parsed = this.checkAppend(batches);
    const result = await this.writeLock.run(async () => {
      this.ensureOpen();
      let next = this.end;
      let gapped = false;
      for (const { header: h } of parsed) {
        if (h.recordCount < 0 || h.lastOffsetDelta < h.recordCount - 1 || h.baseOffset < next)
          throw new CorruptBatchError(
            `copied batch at offset ${h.baseOffset} (${h.recordCount} records, lastOffsetDelta ${h.lastOffsetDelta}) does not follow offset ${next}`,
          );
        gapped ||= h.baseOffset > next || h.recordCount !== h.lastOffsetDelta + 1;
        next = lastOffsetOf(h) + 1;
      }
      if (gapped) await this.allowGaps();
      const now = await this.beforeWrite(batches.length);
      await this.write(batches, parsed, next, now);
      const maxTimestamp = Math.max(...parsed.map((b) => b.header.maxTimestamp));
      return { baseOffset: parsed[0]!.header.baseOffset, lastOffset: next - 1, maxTimestamp };
    });
    await this.afterAppend();
    return result;
  }

  /** How dirty the log is for the cleaner (no I/O); `bound` as for clean(). */
  cleanable(bound = this.written): Cleanable {
    return cleanable(this.segmentInfo(), this.cleaner.cleanedTo, {
      now: this.now(),
      bound: Math.min(bound, this.written),
      minCompactionLagMs: this.config.minCompactionLagMs,
      maxCompactionLagMs: this.config.maxCompactionLagMs,
      minCleanableDirtyRatio: this.config.minCleanableDirtyRatio,
    });
  }

  /**
   * One pass of the log cleaner over this log (see compaction/cleaner.ts). Only for a log
   * configured `compact`; the caller (a broker's cleaner) passes the high watermark as bound.
   */
  async clean(opts: CleanOptions): Promise<CleanReport> {
    this.ensureOpen();
    // max.compaction.lag.ms dates the dirty section by its oldest record (one header read).
    // A segment a swap or retention removes meanwhile is simply not dated.
    await Promise.all(this.segments.map((s) => s.loadFirstBatchTime().catch(() => undefined)));
    const target: CleanTarget = {
      dir: this.dir,
      fds: this.fds,
      config: this.config,
      space: this.space,
      now: () => this.now(),
      segments: () => [...this.segments],
      cleanerState: () => this.cleaner,
      swapIn: (group, lastAppendTime, step) => this.swapIn(group, lastAppendTime, step),
      saveCleanerState: async (s) => {
        await this.essential(() => writeCleanerState(this.dir, s));
        this.cleaner = s;
      },
    };
    return cleanLog(target, { ...opts, bound: Math.min(opts.bound, this.written) });
  }

  /** Under the write lock: the cleaned file for `group` replaces it (swap.ts has the steps). */
  private swapIn(group: LogSegment[], lastAppendTime: number, step?: StepHook): Promise<boolean> {
    return this.writeLock.run(async () => {
      const base = group[0]!.baseOffset;
      const at = this.segments.indexOf(group[0]!);
      const intact =
        !this.closed &&
        at >= 0 &&
        at + group.length < this.segments.length && // never the active segment
        group.every((s, i) => this.segments[at + i] === s);
      if (!intact) {
        await removeIfExists(cleanedPath(this.dir, base));
        return false;
      }
      await this.allowGaps();
      await commitCleaned(this.dir, base, step);
      let done!: () => void;
      this.swapping = new Promise((r) => {
        done = r;
      });
      this.swaps += 1;
      try {
        for (const s of group) await this.fds.forget(s.dataPath);
        await completeSwap(
          this.dir,
          base,
          group.map((s) => s.baseOffset),
          step,
        );
        // A read may have reopened an old file meanwhile: `base`'s name now holds the cleaned
        // file, and no descriptor of the old one may be handed out for it.
        for (const s of group) await this.fds.forget(s.dataPath);
        const { segment } = await LogSegment.open(
          this.dir,
          base,
          this.fds,
          this.now(),
          this.config.indexIntervalBytes,
          'verify',
          true,
        );
        segment.lastAppendTime = lastAppendTime;
        await step?.('index');
        await segment.persistIndex();
        this.segments.splice(at, group.length, segment);
        this.changes += 1;
        return true;
      } catch (err) {
        // Committed but not finished: a restart rolls it forward; until then this log stops.
        this.flushError = this.failure(err, `swap cleaned segments into ${this.dir}`);
        throw this.flushError;
      } finally {
        this.swapping = undefined;
        done();
      }
    });
  }

  /** From now on batches may have gaps between them: made durable before any gap is written. */
  private async allowGaps(): Promise<void> {
    if (this.gaps) return;
    await this.essential(async () => {
      const fd = await openFile(join(this.dir, GAPS_MARKER), 'w');
      await closeFile(fd);
      await fsyncDir(this.dir);
    });
    this.gaps = true;
    for (const s of this.segments) s.gaps = true;
  }

  /**
   * Appends queued while a write was in flight go out together in one write: under load this
   * turns many small writes (each a thread-pool round trip) into a few large ones.
   */
  private drain(): void {
    this.draining = true;
    const group: PendingAppend[] = [];
    let bytes = 0;
    while (
      this.queue.length > 0 &&
      (group.length === 0 || bytes + this.queue[0]!.buf.length <= GROUP_BYTES)
    ) {
      const next = this.queue.shift()!;
      group.push(next);
      bytes += next.buf.length;
    }
    this.writeLock
      .run(() => this.writeGroup(group, bytes))
      .then(
        (results) => {
          group.forEach((p, i) => {
            p.resolve(results[i]!);
          });
        },
        (err: unknown) => {
          for (const p of group) p.reject(err);
        },
      )
      .finally(() => {
        if (this.queue.length > 0) this.drain();
        else this.draining = false;
      });
  }

  /** Writes a group; a failure (of the roll before it too) leaves nothing of it behind. */
  private async writeGroup(group: PendingAppend[], bytes: number): Promise<AppendResult[]> {
    this.ensureOpen();
    const now = await this.beforeWrite(bytes);
    const results: AppendResult[] = [];
    const all: AppendedBatch[] = [];
    let next = this.end;
    let at = 0;
    for (const p of group) {
      const baseOffset = next;
      let maxTimestamp = -1;
      for (const b of p.batches) {
        setBaseOffset(p.buf, next, b.position);
        if (p.leaderEpoch !== undefined) {
          setPartitionLeaderEpoch(p.buf, p.leaderEpoch, b.position);
          b.header.partitionLeaderEpoch = p.leaderEpoch;
        }
        b.header.baseOffset = next;
        maxTimestamp = Math.max(maxTimestamp, b.header.maxTimestamp);
        next = lastOffsetOf(b.header) + 1;
        all.push({ position: at + b.position, header: b.header });
      }
      at += p.buf.length;
      results.push({ baseOffset, lastOffset: next - 1, maxTimestamp });
    }
    const buf =
      group.length === 1
        ? group[0]!.buf
        : Buffer.concat(
            group.map((p) => p.buf),
            bytes,
          );
    await this.write(buf, all, next, now);
    return results;
  }

  /** Every append's checks before anything is queued: size, then every header and CRC. */
  private checkAppend(batches: Buffer): AppendedBatch[] {
    this.ensureOpen();
    this.space?.check(`append to ${this.dir}`);
    if (batches.length > this.config.maxAppendBytes) {
      throw new RecordTooLargeError(batches.length, this.config.maxAppendBytes);
    }
    if (batches.length === 0) throw new InvalidRequestError('append of zero bytes');
    return splitBatches(batches, true).map((b) => ({ position: b.pos, header: b.header }));
  }

  /** Under the write lock, before a write of `bytes`: rolls the active segment if due. */
  private async beforeWrite(bytes: number): Promise<number> {
    this.changes += 1;
    const now = this.now();
    try {
      await this.maybeRoll(bytes, now);
    } catch (err) {
      throw this.failure(err, `roll ${this.dir}`);
    }
    return now;
  }

  /** Writes offset-assigned batches ending at `next` to the active segment. */
  private async write(buf: Buffer, batches: AppendedBatch[], next: number, now: number) {
    this.end = next;
    // Under `always` the write is synced before it counts: a failed sync undoes it.
    const sync = this.config.durability.mode === 'always';
    try {
      await this.active().append(buf, batches, now, sync);
    } catch (err) {
      this.end = this.written;
      throw this.failure(err, `append to ${this.dir}`);
    }
    this.written = next;
    if (sync) this.flushed = next;
    else this.unflushedBytes += buf.length;
    this.scheduleAfterWrite();
  }

  /**
   * Raw batches from `offset`: the batch holding it comes first; whole batches up to
   * `maxBytes`; none at or above `maxOffset` (e.g. the high watermark). A first batch larger
   * than `maxBytes` comes whole (`minOneBatch`, the default) or not at all, its size in
   * `firstBatchBytes`. Corrupt batches are never served: the good ones before them are.
   */
  read(
    offset: number,
    maxBytes: number,
    opts: { maxOffset?: number; minOneBatch?: boolean } = {},
  ): Promise<ReadResult> {
    return this.acrossSwaps(() => this.readOnce(offset, maxBytes, opts));
  }

  /**
   * Runs a read again when the cleaner swapped segments in while it ran: it may have looked
   * at a segment object whose file was replaced under it.
   */
  private async acrossSwaps<T>(read: () => Promise<T>): Promise<T> {
    for (;;) {
      const swaps = this.swaps;
      let result: { ok: T } | { err: unknown };
      try {
        result = { ok: await read() };
      } catch (err) {
        result = { err };
      }
      if (swaps === this.swaps && !this.swapping) {
        if ('ok' in result) return result.ok;
        throw result.err;
      }
      await this.swapping;
    }
  }

  private async readOnce(
    offset: number,
    maxBytes: number,
    opts: { maxOffset?: number; minOneBatch?: boolean },
  ): Promise<ReadResult> {
    this.ensureOpen();
    const upper = Math.min(opts.maxOffset ?? Number.POSITIVE_INFINITY, this.written);
    if (!Number.isSafeInteger(offset) || offset < this.startOffset || offset > this.written) {
      throw new OffsetOutOfRangeError(offset, this.startOffset, this.written);
    }
    const empty = {
      records: Buffer.alloc(0),
      logStartOffset: this.startOffset,
      logEndOffset: this.written,
    };
    if (offset >= upper) return empty;
    // In a compacted log `offset` may lie in a gap: the next batch after it is served.
    let segment = this.segmentFor(offset);
    let at = segment && (await segment.positionOf(offset));
    while (segment && !at) {
      segment = this.segments[this.segments.indexOf(segment) + 1];
      at = segment && (await segment.positionOf(Math.max(offset, segment.baseOffset)));
    }
    if (!segment || !at) return empty;
    const read = await segment.read(
      at.position,
      at.header.baseOffset,
      maxBytes,
      upper,
      opts.minOneBatch ?? true,
    );
    const more = read.records.length > 0 ? emptyRunEnd(read.records) : undefined;
    if (more !== undefined && more < upper && read.records.length < maxBytes) {
      // Only empty batches (a compacted log keeps some): go on to the records after them, so
      // that clients which cannot step over an answer without records (KafkaJS) move on.
      const rest = await this.readOnce(more, maxBytes - read.records.length, {
        ...opts,
        minOneBatch: false,
      });
      if (rest.records.length > 0)
        return { ...rest, records: Buffer.concat([read.records, rest.records]) };
    }
    return { ...read, logStartOffset: this.startOffset, logEndOffset: this.written };
  }

  /** First offset whose record timestamp is >= t, or undefined when every record is older. */
  offsetForTimestamp(t: number): Promise<number | undefined> {
    return this.acrossSwaps(() => this.offsetForTimestampOnce(t));
  }

  private async offsetForTimestampOnce(t: number): Promise<number | undefined> {
    this.ensureOpen();
    for (const segment of [...this.segments]) {
      if (segment.nextOffset <= this.startOffset || segment.maxTimestamp < t) continue;
      const found = await segment.offsetForTimestamp(t, this.startOffset);
      if (found !== undefined && found < this.written) return found;
    }
    return undefined;
  }

  /**
   * Removes every batch from the one holding `offset` on (replication divergence). Batches
   * cannot be split, so the new end is the start of that batch, <= offset. Returns it.
   */
  truncateTo(offset: number): Promise<number> {
    return this.writeLock.run(async () => {
      this.ensureOpen();
      if (offset >= this.end) return this.end;
      this.changes += 1;
      this.rewinds += 1;
      const first = this.segments[0]!;
      if (offset < first.baseOffset) {
        for (const s of this.segments) await s.remove();
        this.segments = [await this.newSegment(offset)];
        this.startOffset = offset;
      } else {
        while (this.segments.length > 1 && this.active().baseOffset >= offset) {
          await this.segments.pop()!.remove();
        }
        await this.active().truncateTo(offset);
        await this.active().removeIndexFiles();
      }
      this.end = this.written = this.active().nextOffset;
      this.cleaner = cutCleanerState(this.cleaner, this.end);
      this.flushed = Math.min(this.flushed, this.end);
      this.startOffset = Math.min(this.startOffset, this.end);
      this.recoveryPoint = Math.min(this.recoveryPoint, this.end);
      await this.saveCheckpoint();
      return this.end;
    });
  }

  /**
   * Empties the log and starts it again at `offset` (a follower whose leader no longer has
   * the records it would fetch next).
   */
  resetTo(offset: number): Promise<void> {
    return this.writeLock.run(async () => {
      this.ensureOpen();
      if (!Number.isSafeInteger(offset) || offset < 0)
        throw new InvalidRequestError(`cannot reset a log to offset ${offset}`);
      this.changes += 1;
      this.rewinds += 1;
      for (const s of this.segments) await s.remove();
      this.segments = [await this.newSegment(offset)];
      this.startOffset = this.end = this.written = this.flushed = offset;
      this.recoveryPoint = offset;
      this.cleaner = EMPTY_CLEANER_STATE;
      await this.saveCheckpoint();
    });
  }

  /** Moves the log start forward (Kafka's deleteRecords); whole segments below it go later. */
  advanceLogStart(offset: number): Promise<void> {
    return this.writeLock.run(async () => {
      this.ensureOpen();
      if (offset > this.written)
        throw new OffsetOutOfRangeError(offset, this.startOffset, this.written);
      if (offset <= this.startOffset) return;
      this.changes += 1;
      this.startOffset = offset;
      await this.saveCheckpoint();
    });
  }

  /**
   * Deletes closed segments that retention allows, never any data at or above `bound`
   * (defaults to everything written). Returns how many segments went.
   */
  applyRetention(bound = this.written): Promise<number> {
    return this.writeLock.run(async () => {
      this.ensureOpen();
      const count = segmentsToDelete(this.segmentInfo(), {
        now: this.now(),
        retentionMs: this.config.retentionMs,
        retentionBytes: this.config.retentionBytes,
        bound: Math.min(bound, this.written),
        logStartOffset: this.startOffset,
      });
      if (count === 0) return 0;
      this.changes += 1;
      const doomed = this.segments.slice(0, count);
      this.segments = this.segments.slice(count);
      // Persist the new start before unlinking, so a crash in between never exposes a gap.
      this.startOffset = Math.max(this.startOffset, this.segments[0]!.baseOffset);
      await this.saveCheckpoint();
      for (const s of doomed) await s.remove();
      return count;
    });
  }

  /** Syncs everything written so far. */
  flush(): Promise<void> {
    return this.flushLock.run(async () => {
      const target = this.written;
      if (target <= this.flushed) return;
      const bytes = this.unflushedBytes;
      const rewinds = this.rewinds;
      const t0 = performance.now();
      for (const s of this.segments) {
        if (s.nextOffset <= this.flushed) continue;
        try {
          await s.flush();
        } catch (err) {
          // A truncation or retention removed the segment meanwhile: nothing of it to sync.
          if (rewinds === this.rewinds && this.segments.includes(s)) throw err;
        }
      }
      this.onFlush?.((performance.now() - t0) / 1000);
      // The end moved back meanwhile: what was synced may be gone and rewritten since.
      if (rewinds !== this.rewinds) return;
      this.unflushedBytes = Math.max(0, this.unflushedBytes - bytes);
      this.flushed = Math.max(this.flushed, target);
    });
  }

  /**
   * Clean shutdown: sync, persist the active index and a checkpoint at the log end, so the
   * next start verifies nothing. A log unchanged since its last checkpoint writes nothing.
   */
  close(): Promise<void> {
    return this.writeLock.run(async () => {
      if (this.closed) return;
      this.stopBackground();
      try {
        if (this.changes !== this.checkpointed) await this.checkpointNow();
      } catch (err) {
        throw this.failure(err, `close ${this.dir}`);
      } finally {
        this.closed = true;
        await this.releaseFds();
      }
    });
  }

  /** Deletes the whole partition directory (topic deletion). */
  async destroy(): Promise<void> {
    await this.writeLock.run(async () => {
      this.stopBackground();
      this.closed = true;
      await this.releaseFds();
      await fsp.rm(this.dir, { recursive: true, force: true });
    });
  }

  /** Simulates a crash for tests: drop everything in memory without syncing or marking. */
  async abandon(): Promise<void> {
    this.stopBackground();
    this.closed = true;
    await this.releaseFds();
  }

  /**
   * What opening this log had to recover (files not closed cleanly: segments verified, a torn
   * tail cut), once; undefined after a clean close, for a new log, and on later calls.
   */
  takeRecovery(): LogRecovery | undefined {
    const r = this.recovery;
    this.recovery = undefined;
    return r;
  }

  private async load(): Promise<void> {
    const t0 = performance.now();
    await fsp.mkdir(this.dir, { recursive: true });
    // A clean cut short by a crash: rolled back or forward before anything is read.
    await recoverSwaps(this.dir);
    this.gaps = (await readFileIfExists(join(this.dir, GAPS_MARKER))) !== undefined;
    const checkpoint = await readCheckpoint(this.dir);
    const names = await fsp.readdir(this.dir);
    for (const n of names)
      if (n.endsWith('.tmp') || isObsoleteFile(n)) await removeIfExists(join(this.dir, n));
    const bases = names
      .filter((n) => /^\d{20}\.log$/.test(n))
      .map((n) => Number(n.slice(0, 20)))
      .sort((a, b) => a - b);
    const now = this.now();
    const recoveryPoint = checkpoint?.recoveryPoint ?? 0;
    let cut = false;
    let activeIndexed = false;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const last = i === bases.length - 1;
      const nextBase = bases[i + 1] ?? Number.POSITIVE_INFINITY;
      const mode: OpenMode = last ? 'prefix' : nextBase <= recoveryPoint ? 'exact' : 'verify';
      const prev = this.segments[this.segments.length - 1];
      const { segment, truncated, indexed } = await LogSegment.open(
        this.dir,
        base,
        this.fds,
        now,
        this.config.indexIntervalBytes,
        mode,
        this.gaps,
      );
      if (prev && prev.nextOffset !== base) {
        // A gap (the previous segment lost its tail): keep only the longest valid prefix.
        await segment.remove();
        for (const b of bases.slice(i + 1)) await this.removeUnopened(b);
        cut = true;
        break;
      }
      this.segments.push(segment);
      activeIndexed = indexed;
      if (truncated) {
        for (const b of bases.slice(i + 1)) await this.removeUnopened(b);
        cut = true;
        break;
      }
    }
    if (this.segments.length === 0) {
      this.segments.push(await this.newSegment(checkpoint?.logStartOffset ?? 0));
    }
    this.end = this.written = this.flushed = this.active().nextOffset;
    this.startOffset = Math.min(
      Math.max(checkpoint?.logStartOffset ?? 0, this.segments[0]!.baseOffset),
      this.end,
    );
    this.recoveryPoint = this.end;
    this.cleaner = cutCleanerState(await readCleanerState(this.dir), this.end);
    // After a clean close the files already say all of this: nothing to write.
    const clean =
      !cut &&
      activeIndexed &&
      checkpoint?.recoveryPoint === this.end &&
      checkpoint.logStartOffset === this.startOffset;
    if (clean) {
      this.checkpointed = this.changes;
      return;
    }
    // A new log: an empty segment at 0 is what a missing checkpoint means anyway.
    if (bases.length === 0 && !checkpoint) return;
    const recovery = { truncated: cut, logEndOffset: this.end, from: recoveryPoint };
    // What was verified becomes the recovery point; the active index is rebuilt in memory
    // (files describing another length would mislead the next start).
    await this.active().removeIndexFiles();
    await this.active().flush();
    await this.saveCheckpoint();
    this.recovery = { ...recovery, ms: Math.round(performance.now() - t0) };
  }

  private async removeUnopened(base: number): Promise<void> {
    const { segment } = await LogSegment.open(this.dir, base, this.fds, 0, 1, 'exact').catch(
      () => ({
        segment: undefined,
      }),
    );
    if (segment) await segment.remove();
  }

  private async maybeRoll(incoming: number, now: number): Promise<void> {
    const active = this.active();
    if (active.size === 0) return;
    const full = active.size + incoming > this.config.segmentBytes;
    // A compacted log also rolls by max.compaction.lag.ms, as Kafka does: the active segment
    // is never cleaned, so its records would otherwise wait for segment.ms.
    const rollMs = this.config.compact
      ? Math.min(this.config.segmentMs, this.config.maxCompactionLagMs)
      : this.config.segmentMs;
    const old = now - active.createdAt >= rollMs;
    const indexFull = active.indexEntries >= this.config.maxIndexEntries;
    const relOverflow = this.end - active.baseOffset > 2 ** 31 - 2 ** 20;
    if (!full && !old && !indexFull && !relOverflow) return;
    await active.persistIndex();
    this.flushed = Math.max(this.flushed, active.nextOffset);
    this.segments.push(await this.newSegment(this.end));
    this.recoveryPoint = active.nextOffset;
    await this.saveCheckpoint();
  }

  private async afterAppend(): Promise<void> {
    const d = this.config.durability;
    if (d.mode === 'interval' && this.unflushedBytes >= d.bytes) {
      // Group commit: acknowledge after the write, sync in the background. A full disk passes
      // (the next sync retries); any other failed sync may have lost pages: the log stops.
      this.flush().catch((err: unknown) => {
        if (!this.noticedNoSpace(err)) this.flushError = err;
      });
    }
  }

  /** A failure as the typed error it is (STORAGE_FULL for a full disk, which the guard hears of). */
  private failure(err: unknown, what: string): StrandError {
    const typed = storageError(err, what);
    this.space?.noticed(typed);
    return typed;
  }

  private noticedNoSpace(err: unknown): boolean {
    this.space?.noticed(err);
    return isNoSpaceError(err);
  }

  /** A small write the log cannot do without: it finds room even on a full disk. */
  private essential<T>(fn: () => Promise<T>): Promise<T> {
    return this.space ? this.space.essential(fn) : fn();
  }

  /** Written data gets synced within the interval (group commit) and checkpointed later. */
  private scheduleAfterWrite(): void {
    const d = this.config.durability;
    if (d.mode === 'interval') this.background.after(d.intervalMs, this.syncTask);
    this.background.after(this.checkpointIntervalMs, this.checkpointTask);
  }

  private async backgroundSync(): Promise<void> {
    if (this.closed || this.written <= this.flushed) return;
    await this.flush().catch((err: unknown) => this.noticedNoSpace(err));
  }

  /**
   * Makes the active segment's index and the recovery point durable, so that an unclean
   * start verifies only what was written since.
   */
  private checkpoint(): Promise<void> {
    return this.writeLock.run(async () => {
      if (!this.closed && this.changes !== this.checkpointed) await this.checkpointNow();
    });
  }

  /**
   * Under the write lock: syncs the data, then writes the active segment's index and a
   * recovery point at the log end. Those two files are not synced themselves: each checks
   * itself (a CRC), so a power failure leaves it old (an earlier, still true prefix), new or
   * visibly damaged (verify from an earlier point) — never a claim the data does not back.
   */
  private async checkpointNow(): Promise<void> {
    const changes = this.changes;
    const active = this.active();
    const end = active.nextOffset;
    await this.flush();
    const files = [
      ...active.indexFiles(),
      checkpointFile(this.dir, { recoveryPoint: end, logStartOffset: this.startOffset }),
    ];
    await this.essential(() => writeFilesAtomic(files, { durable: false }));
    this.recoveryPoint = end;
    this.checkpointed = changes;
  }

  private newSegment(base: number): Promise<LogSegment> {
    return LogSegment.create(
      this.dir,
      base,
      this.fds,
      this.now(),
      this.config.indexIntervalBytes,
      this.gaps,
    );
  }

  private saveCheckpoint(): Promise<void> {
    const cp = { recoveryPoint: this.recoveryPoint, logStartOffset: this.startOffset };
    return this.essential(() => writeCheckpoint(this.dir, cp));
  }

  private segmentFor(offset: number): LogSegment | undefined {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found: LogSegment | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.segments[mid]!;
      if (s.baseOffset <= offset) {
        found = s;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  private active(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  private ensureOpen(): void {
    if (this.closed) throw new LogClosedError(this.dir);
    if (this.flushError !== undefined) throw this.flushError;
  }

  private stopBackground(): void {
    if (this.owned.background) this.background.close();
    this.background.cancel(this.syncTask);
    this.background.cancel(this.checkpointTask);
  }

  private async releaseFds(): Promise<void> {
    if (this.owned.fds) await this.fds.closeAll();
    else for (const s of this.segments) await this.fds.forget(s.dataPath);
  }
}

/** The offset after `buf` when every batch in it is empty (no records); undefined otherwise. */
function emptyRunEnd(buf: Buffer): number | undefined {
  let next: number | undefined;
  for (const { header } of splitBatches(buf, false)) {
    if (header.recordCount > 0) return undefined;
    next = lastOffsetOf(header) + 1;
  }
  return next;
}
