import type { BackgroundWork } from '../background.js';
import type { PartitionLog } from '../partition-log.js';
import type { CleanReport } from './cleaner.js';
import { IoThrottle } from './throttle.js';

export interface LogCleanerOptions {
  /** log.cleaner.dedupe.buffer.size: the key map's budget per pass. */
  dedupeBufferBytes: number;
  /** log.cleaner.io.max.bytes.per.second (Infinity: unbounded). */
  ioMaxBytesPerSecond: number;
  /** log.cleaner.backoff.ms: the pause when no log needs cleaning. */
  backoffMs: number;
  /** The compacted logs to clean, each with its bound (the high watermark). */
  logs: () => Iterable<CleanCandidate>;
  /** The broker's scheduler of background work: a pass is one task on it. */
  background: BackgroundWork;
  onPass?: (c: CleanCandidate, report: CleanReport, ms: number) => void;
  onError?: (c: CleanCandidate, err: unknown) => void;
}

export interface CleanCandidate {
  name: string;
  log: PartitionLog;
  bound: number;
}

/** What `strand topic describe` and the metrics show of a log's cleaning. */
export interface CleanerProgress {
  dirtyRatio: number;
  /** Bytes of dirty log cleaned since the broker started. */
  cleanedBytes: number;
  passes: number;
  /** Wall-clock ms of the last pass that cleaned something. */
  lastRunAt?: number;
  /** Why cleaning this log stopped (a corrupt batch): it is not cleaned again until restart. */
  error?: string;
}

/**
 * A broker's log cleaner: one pass at a time over the dirtiest log that is due, as a task of
 * the shared background scheduler, so cleaning never runs beside more than the scheduler's
 * bound of other background work. After a pass that left work (the key map filled up) the
 * next comes at once; otherwise after `backoffMs`. All passes share one I/O throttle.
 */
export class LogCleaner {
  private readonly throttle: IoThrottle;
  private readonly progress = new WeakMap<PartitionLog, CleanerProgress>();
  private readonly failed = new WeakSet<PartitionLog>();
  private stopped = true;
  private totalCleaned = 0;
  private readonly task = () => this.pass();

  constructor(private readonly opts: LogCleanerOptions) {
    this.throttle = new IoThrottle(opts.ioMaxBytesPerSecond);
  }

  start(): void {
    this.stopped = false;
    this.opts.background.after(this.opts.backoffMs, this.task);
  }

  stop(): void {
    this.stopped = true;
    this.opts.background.cancel(this.task);
  }

  /** Bytes of dirty log cleaned since start, over every log. */
  get cleanedBytes(): number {
    return this.totalCleaned;
  }

  progressOf(c: CleanCandidate): CleanerProgress {
    const p = this.progress.get(c.log) ?? { dirtyRatio: 0, cleanedBytes: 0, passes: 0 };
    return { ...p, dirtyRatio: c.log.cleanable(c.bound).dirtyRatio };
  }

  /** Cleans the dirtiest log that is due; the next pass is scheduled as it ends. */
  async pass(): Promise<void> {
    if (this.stopped) return;
    let more = false;
    try {
      more = await this.cleanDirtiest();
    } finally {
      if (!this.stopped) this.opts.background.after(more ? 0 : this.opts.backoffMs, this.task);
    }
  }

  /** Returns whether work was left (another pass should follow at once). */
  private async cleanDirtiest(): Promise<boolean> {
    let best: CleanCandidate | undefined;
    let bestRatio = -1;
    for (const c of this.opts.logs()) {
      if (!c.log.compacted || this.failed.has(c.log)) continue;
      const state = c.log.cleanable(c.bound);
      if (state.due && state.dirtyRatio > bestRatio) {
        best = c;
        bestRatio = state.dirtyRatio;
      }
    }
    if (!best) return false;
    const t0 = performance.now();
    const p = this.progressOf(best);
    try {
      const report = await best.log.clean({
        bound: best.bound,
        dedupeBufferBytes: this.opts.dedupeBufferBytes,
        throttle: this.throttle,
      });
      p.passes += 1;
      p.cleanedBytes += report.cleanedBytes;
      this.totalCleaned += report.cleanedBytes;
      if (report.segments > 0) p.lastRunAt = Date.now();
      this.progress.set(best.log, p);
      this.opts.onPass?.(best, report, performance.now() - t0);
      return report.more && report.stopped === undefined;
    } catch (err) {
      // A corrupt batch (or a failed swap): this log is left alone until the broker restarts.
      this.failed.add(best.log);
      p.error = err instanceof Error ? err.message : String(err);
      this.progress.set(best.log, p);
      this.opts.onError?.(best, err);
      return true;
    }
  }
}
