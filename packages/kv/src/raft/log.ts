import type { Entry } from './types.js';

/** A broken Raft invariant: a bug, never a consequence of peer input. */
export class RaftInvariantError extends Error {}

/**
 * The Raft log as the core sees it: a compaction point (the last snapshot's index and term)
 * followed by every later entry, in memory. Invariants:
 * `snapshotIndex <= applied <= committed <= lastIndex` and `stabled <= lastIndex`.
 */
export class RaftLog {
  private entries: Entry[];
  committed: number;
  /** Entries up to here were handed to the driver to apply. */
  applied: number;
  /** Entries up to here are persisted by the driver. */
  stabled: number;

  constructor(
    public snapshotIndex: number,
    public snapshotTerm: number,
    entries: Entry[],
    committed: number,
    applied: number,
  ) {
    this.entries = entries.filter((e) => e.index > snapshotIndex);
    for (let i = 0; i < this.entries.length; i++) {
      if (this.entries[i]!.index !== snapshotIndex + 1 + i) {
        throw new RaftInvariantError('entries are not contiguous after the snapshot');
      }
    }
    this.committed = Math.max(committed, snapshotIndex);
    this.applied = Math.max(applied, snapshotIndex);
    this.stabled = this.lastIndex();
  }

  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** Term of entry `i`; undefined when compacted away or beyond the end. */
  term(i: number): number | undefined {
    if (i === this.snapshotIndex) return this.snapshotTerm;
    if (i < this.snapshotIndex || i > this.lastIndex()) return undefined;
    return this.entries[i - this.snapshotIndex - 1]!.term;
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** Entries [lo, hi), at most `maxBytes` of data (at least one entry). */
  slice(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    const from = Math.max(lo, this.firstIndex()) - this.snapshotIndex - 1;
    const to = Math.min(hi, this.lastIndex() + 1) - this.snapshotIndex - 1;
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = from; i < to; i++) {
      const e = this.entries[i]!;
      bytes += e.data.length + 24;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  unstable(): Entry[] {
    return this.slice(this.stabled + 1, this.lastIndex() + 1);
  }

  nextCommitted(): Entry[] {
    return this.slice(this.applied + 1, this.committed + 1);
  }

  /** Appends entries, first dropping any existing suffix from their first index. */
  append(ents: Entry[]): void {
    if (ents.length === 0) return;
    const first = ents[0]!.index;
    if (first <= this.committed) {
      throw new RaftInvariantError(
        `cannot overwrite committed entry ${first} (committed ${this.committed})`,
      );
    }
    if (first > this.lastIndex() + 1) throw new RaftInvariantError(`gap before entry ${first}`);
    this.entries.length = first - this.snapshotIndex - 1;
    for (const e of ents) this.entries.push(e);
    this.stabled = Math.min(this.stabled, first - 1);
  }

  /** Index of the first entry of `ents` that is missing or has another term here; 0 if none. */
  findConflict(ents: Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * A leader's append: if the entry before them matches, add what is new, truncating a
   * conflicting suffix, and advance the commit. Returns the last index now known to match,
   * or undefined when the previous entry does not match (the leader must back off).
   */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    commit: number,
    ents: Entry[],
  ): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new RaftInvariantError(`conflict at committed entry ${conflict}`);
      }
      this.append(ents.slice(conflict - prevIndex - 1));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  commitTo(c: number): void {
    if (c <= this.committed) return;
    if (c > this.lastIndex())
      throw new RaftInvariantError(`commit ${c} beyond last index ${this.lastIndex()}`);
    this.committed = c;
  }

  /** Commits `index` if it is from `term` (Raft commits only current-term entries by counting). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  /** Is a log ending at (lastIndex, lastTerm) at least as up to date as this one? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return (
      lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex())
    );
  }

  /** The largest index <= `index` whose term is <= `term` (for fast back-off). */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > this.snapshotIndex) {
      const t = this.term(i);
      if (t !== undefined && t <= term) break;
      i -= 1;
    }
    return i;
  }

  /** Replaces the whole log with a snapshot's position. */
  restore(index: number, term: number): void {
    this.entries = [];
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.committed = index;
    this.applied = index;
    this.stabled = index;
  }

  /** Drops entries up to `index` (already in a snapshot). */
  compact(index: number): void {
    if (index <= this.snapshotIndex) return;
    if (index > this.applied)
      throw new RaftInvariantError(`compact ${index} beyond applied ${this.applied}`);
    const term = this.term(index)!;
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }
}
