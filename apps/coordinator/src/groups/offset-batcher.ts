/** A key to write (null: the key goes, a committed offset withdrawn). */
export interface OffsetWrite {
  key: string;
  value: Buffer | null;
}

interface Pending {
  /** null: the key goes (a committed offset withdrawn). */
  value: Buffer | null;
  waiters: { resolve: () => void; reject: (e: Error) => void }[];
}

/** Keys per Raft command; bigger flushes are split into several (proposed together). */
const MAX_KEYS_PER_WRITE = 2000;

/**
 * Offset commits from every group gather here and go to Raft as one command: a thousand
 * members committing every 100 ms cost a few entries, not a thousand. A batch leaves as soon
 * as no other is in flight (on the next turn of the event loop, so the commits that arrived
 * together go together); commits that arrive while one is in flight gather for the next,
 * which leaves when that one is applied, or after one flush interval at the latest. So a
 * lone commit waits for nothing, and under load the batch grows with the Raft round trip.
 * A key committed twice before its batch leaves is written once (the later value); both
 * commits are answered when it is applied.
 */
export class OffsetBatcher {
  private pending = new Map<string, Pending>();
  private inFlight = 0;
  private soon: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (writes: OffsetWrite[]) => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  put(entries: OffsetWrite[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let left = entries.length;
      let failed = false;
      const waiter = {
        resolve: () => {
          if (--left === 0 && !failed) resolve();
        },
        reject: (e: Error) => {
          if (failed) return;
          failed = true;
          reject(e);
        },
      };
      for (const e of entries) {
        const p = this.pending.get(e.key);
        if (p) {
          p.value = e.value;
          p.waiters.push(waiter);
        } else {
          this.pending.set(e.key, { value: e.value, waiters: [waiter] });
        }
      }
      this.schedule();
    });
  }

  /** Writes what is pending now; resolves when it is applied (or failed). */
  async flush(): Promise<void> {
    this.cancel();
    if (this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending = new Map();
    const chunks: [string, Pending][][] = [];
    for (let i = 0; i < batch.length; i += MAX_KEYS_PER_WRITE)
      chunks.push(batch.slice(i, i + MAX_KEYS_PER_WRITE));
    this.inFlight++;
    try {
      await Promise.all(chunks.map((chunk) => this.writeChunk(chunk)));
    } finally {
      this.inFlight--;
      if (this.inFlight === 0 && this.pending.size > 0) void this.flush();
    }
  }

  /** Fails everything pending (this node stopped leading). */
  fail(err: Error): void {
    this.cancel();
    const batch = this.pending;
    this.pending = new Map();
    for (const p of batch.values()) for (const w of p.waiters) w.reject(err);
  }

  private schedule(): void {
    if (this.inFlight === 0) this.soon ??= setImmediate(() => void this.flush());
    else this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  private cancel(): void {
    clearImmediate(this.soon);
    this.soon = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async writeChunk(chunk: [string, Pending][]): Promise<void> {
    try {
      await this.write(chunk.map(([key, p]) => ({ key, value: p.value })));
      for (const [, p] of chunk) for (const w of p.waiters) w.resolve();
    } catch (err) {
      for (const [, p] of chunk) for (const w of p.waiters) w.reject(err as Error);
    }
  }
}
