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
 * Offset commits from every group wait here for up to one flush interval, then go to Raft as
 * one command: a thousand members committing every 100 ms cost a few entries per
 * interval, not a thousand. A key committed twice within an interval is written once (the
 * later value); both commits are answered when it is applied.
 */
export class OffsetBatcher {
  private pending = new Map<string, Pending>();
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
      this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
    });
  }

  /** Writes what is pending now; resolves when it is applied (or failed). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending];
    this.pending = new Map();
    const chunks: [string, Pending][][] = [];
    for (let i = 0; i < batch.length; i += MAX_KEYS_PER_WRITE)
      chunks.push(batch.slice(i, i + MAX_KEYS_PER_WRITE));
    await Promise.all(
      chunks.map(async (chunk) => {
        try {
          await this.write(chunk.map(([key, p]) => ({ key, value: p.value })));
          for (const [, p] of chunk) for (const w of p.waiters) w.resolve();
        } catch (err) {
          for (const [, p] of chunk) for (const w of p.waiters) w.reject(err as Error);
        }
      }),
    );
  }

  /** Fails everything pending (this node stopped leading). */
  fail(err: Error): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    for (const p of batch.values()) for (const w of p.waiters) w.reject(err);
  }
}
