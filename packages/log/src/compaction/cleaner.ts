import type { DiskGuard } from '@strand/disk';
import {
  BATCH_HEADER_SIZE,
  type BatchHeader,
  batchSize,
  CorruptBatchError,
  isControl,
  lastOffsetOf,
  readBatchHeader,
  readRawBatch,
  rebuildBatch,
  verifyBatchCrc,
} from '@strand/wire';
import type { LogConfig } from '../config.js';
import type { FdCache } from '../fd-cache.js';
import { closeFile, fdatasync, openFile, readAt, removeIfExists, writeFully } from '../io.js';
import type { LogSegment } from '../segment.js';
import {
  batchStays,
  cleanable,
  groupSegments,
  OffsetMap,
  recordPass,
  survives,
  tombstoneExpired,
} from './plan.js';
import type { CleanerState } from './state.js';
import { cleanedPath, type StepHook } from './swap.js';
import type { IoThrottle } from './throttle.js';

const CHUNK = 1024 * 1024;

/** What the cleaner needs of a PartitionLog (which implements it). */
export interface CleanTarget {
  readonly dir: string;
  readonly fds: FdCache;
  readonly config: LogConfig;
  readonly space: DiskGuard | undefined;
  now(): number;
  /** The segments now, oldest first, the last one active. */
  segments(): LogSegment[];
  cleanerState(): CleanerState;
  /**
   * Under the log's write lock: swaps `cleanedPath(dir, group[0].baseOffset)` in for `group`
   * (see swap.ts). False, and the file removed, when the group is no longer in the log.
   */
  swapIn(group: LogSegment[], lastAppendTime: number, step?: StepHook): Promise<boolean>;
  saveCleanerState(s: CleanerState): Promise<void>;
}

export interface CleanOptions {
  /** Never clean at or above this offset (the high watermark). */
  bound: number;
  /** log.cleaner.dedupe.buffer.size: the key map's budget in bytes. */
  dedupeBufferBytes: number;
  throttle?: IoThrottle;
  /** For tests: told before each durable step of a swap; throwing there is a crash there. */
  onStep?: StepHook;
}

export interface CleanReport {
  /** The log's dirty ratio before this pass. */
  dirtyRatio: number;
  /** Whether the log was due for cleaning (dirty enough, or overdue). */
  due: boolean;
  /** Bytes of dirty log this pass cleaned. */
  cleanedBytes: number;
  bytesBefore: number;
  bytesAfter: number;
  /** New segments swapped in. */
  segments: number;
  /** Why the pass stopped before cleaning everything due (disk full, log changed). */
  stopped?: string;
  /** The pass left dirty log it could not map (the key map was full): clean again soon. */
  more: boolean;
}

/**
 * One cleaning pass over a log: maps the latest offset of every key in as much of the dirty
 * section as the key map holds, then rewrites every segment below that point, group by
 * group, keeping what `survives` and `batchStays` say and swapping each new segment in
 * crash-safely. Every CRC read is checked: a corrupt batch stops the pass (CorruptBatchError)
 * with nothing swapped for its group.
 */
export async function cleanLog(t: CleanTarget, o: CleanOptions): Promise<CleanReport> {
  // The closed segments as the pass last left them (its own swaps replace some).
  const seen = { closed: t.segments().slice(0, -1) };
  try {
    return await pass(t, o, seen);
  } catch (err) {
    // Retention, a truncation or the topic's deletion removed segments under the pass: not
    // a failure of the log, the next pass starts from what is there.
    if (seen.closed.every((s) => t.segments().includes(s))) throw err;
    return { ...EMPTY_REPORT, stopped: 'the log changed while cleaning', more: true };
  }
}

const EMPTY_REPORT: CleanReport = {
  dirtyRatio: 0,
  due: false,
  cleanedBytes: 0,
  bytesBefore: 0,
  bytesAfter: 0,
  segments: 0,
  more: false,
};

async function pass(
  t: CleanTarget,
  o: CleanOptions,
  seen: { closed: LogSegment[] },
): Promise<CleanReport> {
  const segs = t.segments();
  const state = t.cleanerState();
  const now = t.now();
  const c = cleanable(segs, state.cleanedTo, {
    now,
    bound: o.bound,
    minCompactionLagMs: t.config.minCompactionLagMs,
    maxCompactionLagMs: t.config.maxCompactionLagMs,
    minCleanableDirtyRatio: t.config.minCleanableDirtyRatio,
  });
  const report: CleanReport = {
    dirtyRatio: c.dirtyRatio,
    due: c.due,
    cleanedBytes: 0,
    bytesBefore: 0,
    bytesAfter: 0,
    segments: 0,
    more: false,
  };
  if (!c.due) return report;
  if (t.space?.full) return { ...report, stopped: 'the disk is full' };

  // 1. The key map over the dirty section, and each producer's newest batch over all of it.
  const map = new OffsetMap(o.dedupeBufferBytes);
  const newest = new Map<number, number>();
  const noteProducer = (h: BatchHeader) => {
    if (h.producerId >= 0) newest.set(h.producerId, lastOffsetOf(h));
  };
  for (let i = 0; i < c.firstDirty; i++)
    await forEachBatch(t.fds, segs[i]!, o.throttle, (h) => noteProducer(h));
  let mappedEnd = c.firstDirty;
  for (let i = c.firstDirty; i < c.firstUncleanable; i++) {
    if (i > c.firstDirty && map.full) break;
    await forEachBatch(t.fds, segs[i]!, o.throttle, (h, buf, pos) => {
      noteProducer(h);
      if (isControl(h)) return;
      for (const r of readRawBatch(buf, pos).records)
        if (r.key !== null) map.put(r.key, h.baseOffset + r.offsetDelta);
    });
    mappedEnd = i + 1;
  }
  report.more = mappedEnd < c.firstUncleanable;

  // 2. Rewrite [0, mappedEnd) group by group.
  const gone = (offset: number) =>
    tombstoneExpired(offset, state.passes, now, t.config.deleteRetentionMs);
  let swappedTo = -1;
  for (const [first, last] of groupSegments(segs, 0, mappedEnd, t.config.segmentBytes)) {
    const group = segs.slice(first, last + 1);
    const before = group.reduce((n, s) => n + s.size, 0);
    if (t.space) {
      if (t.space.full || (await t.space.freeBytes()) < before)
        return finish(t, state, report, swappedTo, now, 'the disk is too full to clean', o.onStep);
    }
    const groupEnd = group[group.length - 1]!.nextOffset;
    const path = cleanedPath(t.dir, group[0]!.baseOffset);
    let after: number;
    try {
      after = await writeCleaned(t.fds, group, path, o.throttle, (h, buf, pos) =>
        cleanBatch(h, buf, pos, groupEnd, map, gone, (pid) => newest.get(pid)),
      );
    } catch (err) {
      await removeIfExists(path).catch(() => undefined);
      if (t.space?.noticed(err))
        return finish(t, state, report, swappedTo, now, 'the disk filled up', o.onStep);
      if (!group.every((s) => t.segments().includes(s)))
        return finish(t, state, report, swappedTo, now, 'the log changed while cleaning', o.onStep);
      throw err;
    }
    const lastAppendTime = Math.max(...group.map((s) => s.lastAppendTime));
    if (!(await t.swapIn(group, lastAppendTime, o.onStep)))
      return finish(t, state, report, swappedTo, now, 'the log changed while cleaning', o.onStep);
    swappedTo = groupEnd;
    seen.closed = t.segments().slice(0, -1);
    report.segments += 1;
    report.bytesBefore += before;
    report.bytesAfter += after;
    for (let i = Math.max(first, c.firstDirty); i <= last; i++)
      report.cleanedBytes += segs[i]!.size;
  }
  return finish(t, state, report, swappedTo, now, undefined, o.onStep);
}

async function finish(
  t: CleanTarget,
  state: CleanerState,
  report: CleanReport,
  swappedTo: number,
  now: number,
  stopped?: string,
  step?: StepHook,
): Promise<CleanReport> {
  if (swappedTo > state.cleanedTo) {
    await step?.('cleaner state');
    await t.saveCleanerState({
      cleanedTo: swappedTo,
      passes: recordPass(state.passes, [swappedTo, now]),
    });
  }
  return stopped ? { ...report, stopped } : report;
}

/**
 * A batch of the group as it is to be written: the same bytes when every record survives,
 * re-encoded with the survivors otherwise, or undefined when it goes.
 */
function cleanBatch(
  h: BatchHeader,
  buf: Buffer,
  pos: number,
  groupEnd: number,
  map: OffsetMap,
  gone: (offset: number) => boolean,
  newestBatchOf: (producerId: number) => number | undefined,
): Buffer | undefined {
  const bytes = buf.subarray(pos, pos + batchSize(h));
  if (isControl(h)) return bytes;
  const { records } = readRawBatch(buf, pos);
  const kept = records.filter((r) =>
    survives(
      { offset: h.baseOffset + r.offsetDelta, key: r.key, tombstone: r.value === null },
      (k) => map.latest(k),
      gone,
    ),
  );
  if (kept.length === records.length) return bytes;
  if (kept.length > 0 || batchStays(lastOffsetOf(h), h.producerId, groupEnd, newestBatchOf))
    return rebuildBatch(h, kept);
  return undefined;
}

/** Writes the cleaned group to `path`, synced; returns its size. */
async function writeCleaned(
  fds: FdCache,
  group: LogSegment[],
  path: string,
  throttle: IoThrottle | undefined,
  clean: (h: BatchHeader, buf: Buffer, pos: number) => Buffer | undefined,
): Promise<number> {
  const fd = await openFile(path, 'w');
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const spill = async () => {
    if (pendingBytes === 0) return;
    await throttle?.take(pendingBytes);
    await writeFully(fd, Buffer.concat(pending, pendingBytes), size);
    size += pendingBytes;
    pending = [];
    pendingBytes = 0;
  };
  try {
    for (const seg of group) {
      const out: Buffer[] = [];
      await forEachBatch(fds, seg, throttle, (h, buf, pos) => {
        const b = clean(h, buf, pos);
        if (b) out.push(Buffer.from(b)); // a copy: `buf` is reused for the next chunk
      });
      for (const b of out) {
        pending.push(b);
        pendingBytes += b.length;
        if (pendingBytes >= CHUNK) await spill();
      }
    }
    await spill();
    await fdatasync(fd);
  } finally {
    await closeFile(fd);
  }
  return size;
}

/**
 * Calls `fn` for every batch of a segment, in order, reading it in large chunks; every CRC is
 * checked and offsets must not go backwards. Throws CorruptBatchError at the first bad batch.
 */
async function forEachBatch(
  fds: FdCache,
  seg: LogSegment,
  throttle: IoThrottle | undefined,
  fn: (h: BatchHeader, buf: Buffer, pos: number) => void,
): Promise<void> {
  const end = seg.size;
  let pos = 0;
  let expected = seg.baseOffset;
  const corrupt = (why: string) =>
    new CorruptBatchError(`${seg.dataPath} at byte ${pos}: ${why}; the clean stops here`);
  while (pos < end) {
    const want = Math.min(CHUNK, end - pos);
    await throttle?.take(want);
    let chunk = await fds.use(seg.dataPath, (fd) => readAt(fd, pos, want));
    let at = 0;
    while (at < chunk.length) {
      if (chunk.length - at < BATCH_HEADER_SIZE) {
        if (at === 0) throw corrupt('torn batch header');
        break;
      }
      const size = 12 + chunk.readInt32BE(at + 8);
      if (size < BATCH_HEADER_SIZE || pos + at + size > end)
        throw corrupt(`batch of ${size} bytes`);
      if (at + size > chunk.length) {
        if (at > 0) break;
        chunk = await fds.use(seg.dataPath, (fd) => readAt(fd, pos, size));
        if (chunk.length < size) throw corrupt('short read');
      }
      let h: BatchHeader;
      try {
        h = readBatchHeader(chunk, at);
        verifyBatchCrc(chunk, h, at);
      } catch (err) {
        throw corrupt((err as Error).message);
      }
      if (h.baseOffset < expected) throw corrupt(`baseOffset ${h.baseOffset} < ${expected}`);
      try {
        fn(h, chunk, at);
      } catch (err) {
        if (err instanceof CorruptBatchError) throw corrupt(err.message);
        throw err;
      }
      expected = lastOffsetOf(h) + 1;
      at += size;
    }
    pos += at;
  }
}
