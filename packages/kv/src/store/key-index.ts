/**
 * The live keys' names (latin1 strings, one code unit per byte, so string order is byte
 * order) in order, for range reads: a range then costs a binary search and the keys it
 * returns, where filtering every live key cost the whole keyspace per read (the controller
 * and the groups read prefixes many times a second: 23% of a leader's CPU with 25,600 keys).
 * Kept sorted lazily: names added since the last range are sorted in at the next one, into a
 * short list beside the long one; deleted names stay until the two are merged and are skipped
 * meanwhile (the caller's map says what is live).
 */
export class KeyIndex {
  /** Most of the names, in order. */
  private sorted: string[] = [];
  /**
   * Names sorted in since `sorted` was last rebuilt, in order: a few, merged into `sorted` once
   * they are an eighth of it. Merging every name added straight into `sorted` cost a pass over
   * every live key per range while keys were being created (the controller reads a prefix ten
   * times a second: 14% of a leader's CPU while a benchmark created 25,600 keys).
   */
  private recent: string[] = [];
  private added: string[] = [];
  private dead = 0;

  constructor(private readonly live: { has(name: string): boolean }) {}

  /** `name` became live (it was not). */
  add(name: string): void {
    this.added.push(name);
  }

  /** `name` stopped being live. */
  remove(): void {
    this.dead += 1;
  }

  clear(): void {
    this.sorted = [];
    this.recent = [];
    this.added = [];
    this.dead = 0;
  }

  /** The live names in [start, end), in order. */
  range(start: string, end: string): string[] {
    return this.page(start, end, 0).names;
  }

  /**
   * The first `limit` live names in [start, end) in order (all of them for 0 or less), and how many
   * live names the range holds. Without deleted names pending, the count is two binary searches
   * per list and the walk stops at `limit`: a paged scan of a million keys cost a walk over the
   * rest of the keyspace per page (a hundred pages: fifty million names).
   */
  page(start: string, end: string, limit: number): { names: string[]; count: number } {
    this.settle();
    const [a, b] = [this.sorted, this.recent];
    let i = lowerBound(a, start);
    let j = lowerBound(b, start);
    // No deletes since the last merge: the two lists are disjoint and every name is live.
    const exact =
      this.dead === 0
        ? Math.max(0, lowerBound(a, end) - i) + Math.max(0, lowerBound(b, end) - j)
        : undefined;
    const max = limit > 0 ? limit : Number.POSITIVE_INFINITY;
    const names: string[] = [];
    let count = 0;
    for (;;) {
      if (exact !== undefined && names.length >= max) return { names, count: exact };
      const x = a[i];
      const y = b[j];
      let name: string;
      if (x !== undefined && (y === undefined || x <= y)) {
        name = x;
        i += 1;
        // In both: deleted once, live again.
        if (x === y) j += 1;
      } else if (y !== undefined) {
        name = y;
        j += 1;
      } else break;
      if (name >= end) break;
      if (!this.live.has(name)) continue;
      count += 1;
      if (names.length < max) names.push(name);
    }
    return { names, count };
  }

  private settle(): void {
    if (this.added.length > 0) {
      const fresh = this.added.filter((n) => this.live.has(n)).sort(byCodeUnits);
      this.added = [];
      this.recent = merge(this.recent, fresh, undefined);
    }
    const many = this.dead * 2 > this.sorted.length + this.recent.length;
    if (!many && this.recent.length <= Math.max(64, this.sorted.length >> 3)) return;
    // Deleted names are dropped here, and looked up only when there are some.
    this.sorted = merge(this.sorted, this.recent, this.dead > 0 ? this.live : undefined);
    this.recent = [];
    this.dead = 0;
  }
}

/** `a` and `b` (each in order) in order, each name once; without the dead, given `live`. */
function merge(
  a: readonly string[],
  b: readonly string[],
  live: { has(name: string): boolean } | undefined,
): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    let name: string;
    if (y === undefined || (x !== undefined && x <= y)) {
      name = x!;
      i += 1;
    } else {
      name = y;
      j += 1;
    }
    if (out[out.length - 1] !== name && (!live || live.has(name))) out.push(name);
  }
  return out;
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function lowerBound(list: readonly string[], name: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
