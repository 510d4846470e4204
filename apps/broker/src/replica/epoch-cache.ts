import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

const FILE = 'leader-epochs.json';

/** Runs a small write that must go through (see DiskGuard.essential). */
export type Essential = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * Which leader epoch wrote which part of a replica's log: epoch → first offset, ascending in
 * both. A follower that comes back compares its latest epoch with the leader's history and
 * truncates whatever it wrote past the point where they diverge. Kept in a small file in the
 * partition directory, replaced atomically on every change (changes are rare: one per new
 * leader).
 */
export class LeaderEpochCache {
  private constructor(
    private readonly dir: string,
    private entries: EpochEntry[],
    private readonly write: Essential,
  ) {}

  /** `write` runs each save (a disk guard's `essential`: it must go through on a full disk). */
  static async load(dir: string, write: Essential = (fn) => fn()): Promise<LeaderEpochCache> {
    const text = await fsp.readFile(join(dir, FILE), 'utf8').catch(() => undefined);
    let entries: EpochEntry[] = [];
    try {
      if (text) entries = JSON.parse(text) as EpochEntry[];
    } catch {
      entries = []; // a torn file: the history restarts from the next leader change
    }
    return new LeaderEpochCache(dir, entries, write);
  }

  get all(): readonly EpochEntry[] {
    return this.entries;
  }

  latest(): EpochEntry | undefined {
    return this.entries[this.entries.length - 1];
  }

  /** Records that `epoch` starts at `startOffset` (no-op unless it is newer than the latest). */
  async assign(epoch: number, startOffset: number): Promise<void> {
    const last = this.latest();
    if (last && epoch <= last.epoch) return;
    await this.save([
      ...this.entries.filter((e) => e.startOffset < startOffset),
      { epoch, startOffset },
    ]);
  }

  /**
   * Where `epoch` ends in this log: the largest known epoch <= `epoch`, and the start of the
   * next epoch after it (or `logEnd` when it is the latest). Epoch -1 when none is <= `epoch`.
   */
  endOf(epoch: number, logEnd: number): { epoch: number; endOffset: number } {
    let i = -1;
    for (let k = 0; k < this.entries.length; k++) if (this.entries[k]!.epoch <= epoch) i = k;
    if (i < 0) return { epoch: -1, endOffset: this.entries[0]?.startOffset ?? logEnd };
    const next = this.entries[i + 1];
    return { epoch: this.entries[i]!.epoch, endOffset: next ? next.startOffset : logEnd };
  }

  /** After truncating the log to `offset`: epochs that start at or past it are gone. */
  async truncateTo(offset: number): Promise<void> {
    const kept = this.entries.filter((e) => e.startOffset < offset);
    if (kept.length === this.entries.length) return;
    await this.save(kept);
  }

  /** Saved first, then kept: a save that fails changes nothing, and can be tried again. */
  private async save(entries: EpochEntry[]): Promise<void> {
    const tmp = join(this.dir, `${FILE}.tmp`);
    await this.write(async () => {
      await fsp.writeFile(tmp, JSON.stringify(entries));
      await fsp.rename(tmp, join(this.dir, FILE));
    });
    this.entries = entries;
  }
}
