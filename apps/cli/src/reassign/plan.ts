import { InvalidReplicationFactorError } from '@strand/wire';

/**
 * Replica placement plans for `strand topic reassign` and `strand broker drain`: pure
 * functions from the cluster's assignment to a new one. Each partition keeps its replication
 * factor; the plan moves as few replicas as it can and then evens out preferred leaders (the
 * first replica), which moves no data.
 */

export interface Assignment {
  topic: string;
  partition: number;
  /** Broker ids, the preferred leader first. */
  replicas: number[];
}

export interface PlanBroker {
  id: number;
  /** '' or undefined: none given. */
  rack?: string;
}

export interface PlanOptions {
  /** Brokers that may hold replicas: the live ones a plan may use (a drained broker is left out). */
  brokers: readonly PlanBroker[];
  /**
   * Only replace replicas on brokers outside `brokers` and `keep` (a drain: nothing else
   * moves), rather than also balance replica and leader counts across `brokers`.
   */
  replaceOnly?: boolean;
  /** With replaceOnly: brokers whose replicas stay though they take no new ones (fenced, maybe restarting). */
  keep?: readonly number[];
}

const key = (a: Assignment) => `${a.topic}\u0000${a.partition}`;

/**
 * The new assignment of every partition given (sorted by topic, then partition). Balanced:
 * each broker ends with floor or ceil of (replicas / brokers) of these partitions' replicas,
 * and as many preferred leaderships as it can; rack-aware: a partition's replicas go to as
 * many different racks as there are, where racks are set. Throws InvalidReplicationFactorError
 * when a partition it must place has more replicas than there are brokers to hold them.
 */
export function planAssignment(current: readonly Assignment[], opts: PlanOptions): Assignment[] {
  const brokers = [...opts.brokers].sort((a, b) => a.id - b.id);
  const ids = brokers.map((b) => b.id);
  const allowed = new Set(ids);
  const stays = new Set([...ids, ...(opts.replaceOnly ? (opts.keep ?? []) : [])]);
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack ?? '']));
  const racks = new Set(brokers.map((b) => b.rack ?? '').filter((r) => r !== ''));
  const parts = [...current]
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
    .map((a) => ({ ...a, replicas: [...a.replicas] }));
  const tooFew = (p: Assignment) =>
    new InvalidReplicationFactorError(
      `${p.topic}-${p.partition} has ${p.replicas.length} replicas but only ${ids.length} broker(s) can hold them`,
    );
  // Balancing places every partition anew; a drain only those with a replica to replace.
  if (!opts.replaceOnly) for (const p of parts) if (p.replicas.length > ids.length) throw tooFew(p);

  const load = new Map(ids.map((id) => [id, 0]));
  for (const p of parts)
    for (const b of p.replicas) if (allowed.has(b)) load.set(b, load.get(b)! + 1);
  const total = parts.reduce((n, p) => n + p.replicas.length, 0);
  const quota = quotas(ids, load, total, opts.replaceOnly ?? false);

  // Replicas to place: those on brokers that may not hold them, and (balancing) the excess of
  // brokers above their quota, taken first where a rack holds two replicas of the partition.
  const holes: { p: (typeof parts)[number]; at: number }[] = [];
  for (const p of parts)
    p.replicas.forEach((b, at) => {
      if (!stays.has(b)) holes.push({ p, at });
    });
  if (!opts.replaceOnly) {
    for (const id of ids) {
      const mine = parts.filter((p) => p.replicas.includes(id));
      mine.sort((a, b) => sharesRack(b, id, rackOf) - sharesRack(a, id, rackOf));
      for (const p of mine) {
        if (load.get(id)! <= quota.get(id)!) break;
        holes.push({ p, at: p.replicas.indexOf(id) });
        p.replicas[p.replicas.indexOf(id)] = -1;
        load.set(id, load.get(id)! - 1);
      }
    }
  }
  for (const { p, at } of holes) {
    const taken = new Set(p.replicas.filter((b) => b !== p.replicas[at]));
    const usedRacks = new Set([...taken].map((b) => rackOf.get(b) ?? '').filter((r) => r !== ''));
    const candidates = ids.filter((b) => !taken.has(b));
    if (candidates.length === 0) throw tooFew(p);
    const best = pickBest(candidates, (b) => [
      load.get(b)! < quota.get(b)! ? 0 : 1,
      racks.size > 0 && usedRacks.has(rackOf.get(b)!) ? 1 : 0,
      load.get(b)! - quota.get(b)!,
      b,
    ]);
    p.replicas[at] = best;
    load.set(best, load.get(best)! + 1);
  }
  if (!opts.replaceOnly) {
    evenOut(parts, ids, load, rackOf);
    if (racks.size > 1) spreadRacks(parts, ids, rackOf, racks.size);
    balanceLeaders(parts, ids);
  }
  return parts;
}

/**
 * Where a partition has two replicas in one rack while a rack it does not use has a broker,
 * swaps: that broker's replica of another partition goes to the doubled broker, so the counts
 * stay balanced and the other partition's racks stay as spread as they were.
 */
function spreadRacks(
  parts: Assignment[],
  ids: number[],
  rackOf: Map<number, string>,
  rackCount: number,
): void {
  const racksOf = (replicas: number[]) => new Set(replicas.map((b) => rackOf.get(b) ?? ''));
  const on = new Map(ids.map((id) => [id, new Set<Assignment>()]));
  for (const p of parts) for (const b of p.replicas) on.get(b)?.add(p);
  const swapFor = (p: Assignment, doubled: number) => {
    const used = racksOf(p.replicas);
    for (const c of ids) {
      if (p.replicas.includes(c) || used.has(rackOf.get(c) ?? '')) continue;
      for (const q of on.get(c)!) {
        if (q.replicas.includes(doubled)) continue;
        const swapped = q.replicas.map((b) => (b === c ? doubled : b));
        if (racksOf(swapped).size >= racksOf(q.replicas).size) return { c, q };
      }
    }
    return undefined;
  };
  for (const p of parts) {
    for (let tries = 0; tries < p.replicas.length; tries++) {
      if (racksOf(p.replicas).size >= Math.min(p.replicas.length, rackCount)) break;
      // A doubled replica, the last one first (the preferred leader stays where it can).
      const doubled = [...p.replicas]
        .reverse()
        .find((b) => p.replicas.some((o) => o !== b && rackOf.get(o) === rackOf.get(b)));
      const swap = doubled === undefined ? undefined : swapFor(p, doubled);
      if (doubled === undefined || !swap) break;
      p.replicas[p.replicas.indexOf(doubled)] = swap.c;
      swap.q.replicas[swap.q.replicas.indexOf(swap.c)] = doubled;
      on.get(doubled)!.delete(p);
      on.get(doubled)!.add(swap.q);
      on.get(swap.c)!.delete(swap.q);
      on.get(swap.c)!.add(p);
    }
  }
}

/**
 * Where placing replicas left two brokers more than one apart (a broker below its quota that
 * already held every partition with a replica to place), moves replicas from the fullest to
 * the emptiest: a partition on the one and not the other always exists, since the fuller holds
 * more. Prefers a partition whose racks stay as spread.
 */
function evenOut(
  parts: Assignment[],
  ids: number[],
  load: Map<number, number>,
  rackOf: Map<number, string>,
): void {
  for (;;) {
    const hi = pickBest(ids, (b) => [-load.get(b)!, b]);
    const lo = pickBest(ids, (b) => [load.get(b)!, b]);
    if (load.get(hi)! - load.get(lo)! <= 1) return;
    const movable = parts.filter((p) => p.replicas.includes(hi) && !p.replicas.includes(lo));
    const keepsRacks = (p: Assignment) =>
      rackOf.get(lo) === rackOf.get(hi) ||
      !p.replicas.some((b) => b !== hi && rackOf.get(b) === rackOf.get(lo) && rackOf.get(lo));
    const p = movable.find(keepsRacks) ?? movable[0]!;
    p.replicas[p.replicas.indexOf(hi)] = lo;
    load.set(hi, load.get(hi)! - 1);
    load.set(lo, load.get(lo)! + 1);
  }
}

/**
 * How many replicas each broker should end with: floor(total / n), plus one for the brokers
 * that hold the most now (so the fewest move). A drain keeps every broker's load as it is and
 * fills the emptiest: its quota is unbounded.
 */
function quotas(
  ids: number[],
  load: Map<number, number>,
  total: number,
  replaceOnly: boolean,
): Map<number, number> {
  if (replaceOnly) {
    const level = Math.max(...ids.map((id) => load.get(id)!), Math.ceil(total / ids.length));
    return new Map(ids.map((id) => [id, level]));
  }
  const floor = Math.floor(total / ids.length);
  const extra = total - floor * ids.length;
  const byLoad = [...ids].sort((a, b) => load.get(b)! - load.get(a)! || a - b);
  return new Map(byLoad.map((id, i) => [id, floor + (i < extra ? 1 : 0)]));
}

/** 1 when another replica of `p` is in `id`'s rack (so `id` is the one to move). */
function sharesRack(p: Assignment, id: number, rackOf: Map<number, string>): number {
  const rack = rackOf.get(id);
  if (!rack) return 0;
  return p.replicas.some((b) => b !== id && rackOf.get(b) === rack) ? 1 : 0;
}

/** The candidate whose score is lowest (scores compared element by element). */
function pickBest(candidates: number[], score: (b: number) => number[]): number {
  let best = candidates[0]!;
  let bestScore = score(best);
  for (const b of candidates.slice(1)) {
    const s = score(b);
    const i = s.findIndex((v, k) => v !== bestScore[k]);
    if (i >= 0 && s[i]! < bestScore[i]!) {
      best = b;
      bestScore = s;
    }
  }
  return best;
}

/**
 * Evens out preferred leaders: while a broker leads more than ceil(partitions / brokers), one
 * of its partitions puts first the replica that leads the fewest.
 */
function balanceLeaders(parts: Assignment[], ids: number[]): void {
  const leads = new Map(ids.map((id) => [id, 0]));
  for (const p of parts) leads.set(p.replicas[0]!, leads.get(p.replicas[0]!)! + 1);
  const ceil = Math.ceil(parts.length / ids.length);
  const floor = Math.floor(parts.length / ids.length);
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of parts) {
      const leader = p.replicas[0]!;
      if (leads.get(leader)! <= floor) continue;
      const other = pickBest(p.replicas.slice(1), (b) => [leads.get(b)!, b]);
      if (other === undefined || leads.get(other)! + 1 >= leads.get(leader)!) continue;
      if (leads.get(leader)! <= ceil && leads.get(other)! >= floor) continue;
      p.replicas.splice(p.replicas.indexOf(other), 1);
      p.replicas.unshift(other);
      leads.set(leader, leads.get(leader)! - 1);
      leads.set(other, leads.get(other)! + 1);
      changed = true;
    }
  }
}

/** The partitions whose replica list (or its order) the plan changes. */
export function changedAssignments(
  current: readonly Assignment[],
  planned: readonly Assignment[],
): Assignment[] {
  const before = new Map(current.map((a) => [key(a), a.replicas.join(',')]));
  return planned.filter((a) => before.get(key(a)) !== a.replicas.join(','));
}
