/** A unit of deferred work; the same function queued twice runs once. */
export type Task = () => Promise<void>;

interface Due {
  task: Task;
  at: number;
}

interface DelayQueue {
  /** In due order: every entry of one queue has the same delay. */
  entries: Due[];
  timer: NodeJS.Timeout | undefined;
}

/**
 * Deferred per-log work (group-commit syncs, checkpoints) for every log of a LogManager: one
 * timer per distinct delay rather than one interval per log, work queued only by a log that
 * has something to do, and at most `concurrency` tasks running at once, so thousands of
 * partitions neither wake the event loop for nothing nor flood the thread pool with fsyncs
 * that appends and reads then queue behind.
 */
export class BackgroundWork {
  private readonly queues = new Map<number, DelayQueue>();
  private readonly pending = new Set<Task>();
  private readonly ready: Task[] = [];
  private running = 0;
  private closed = false;

  constructor(private readonly concurrency = 2) {}

  /** Tasks queued and not started yet. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Runs `task` once, `delayMs` from now; a no-op while it is already waiting to run. */
  after(delayMs: number, task: Task): void {
    if (this.closed || this.pending.has(task)) return;
    this.pending.add(task);
    let q = this.queues.get(delayMs);
    if (!q) {
      q = { entries: [], timer: undefined };
      this.queues.set(delayMs, q);
    }
    q.entries.push({ task, at: performance.now() + delayMs });
    if (!q.timer) this.arm(q);
  }

  /** Drops `task` if it is waiting (its log closed); a running one finishes. */
  cancel(task: Task): void {
    this.pending.delete(task);
  }

  close(): void {
    this.closed = true;
    for (const q of this.queues.values()) if (q.timer) clearTimeout(q.timer);
    this.queues.clear();
    this.pending.clear();
    this.ready.length = 0;
  }

  private arm(q: DelayQueue): void {
    const head = q.entries[0];
    if (!head) {
      q.timer = undefined;
      return;
    }
    q.timer = setTimeout(() => this.fire(q), Math.max(0, head.at - performance.now()));
    q.timer.unref();
  }

  private fire(q: DelayQueue): void {
    const now = performance.now();
    let n = 0;
    while (n < q.entries.length && q.entries[n]!.at <= now) n++;
    for (const { task } of q.entries.splice(0, n))
      if (this.pending.has(task)) this.ready.push(task);
    this.arm(q);
    this.run();
  }

  private run(): void {
    while (this.running < this.concurrency && this.ready.length > 0) {
      const task = this.ready.shift()!;
      // From here on, work queued by the log is new work: it waits for a later run.
      if (!this.pending.delete(task)) continue;
      this.running += 1;
      task()
        .catch(() => undefined) // a task reports its own failures
        .finally(() => {
          this.running -= 1;
          this.run();
        });
    }
  }
}
