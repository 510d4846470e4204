import { NO_LEADER, type PartitionRecord } from '@strand/wire';

/**
 * Replicas for `count` new partitions, numbered from `first`, over the live brokers (sorted
 * ids). Partition p's preferred leader is the broker at (start + p) mod n, and its followers
 * are the next brokers round the ring, so leaders and replicas spread evenly.
 */
export function placeReplicas(
  brokers: readonly number[],
  first: number,
  count: number,
  replicationFactor: number,
  start: number,
): number[][] {
  const sorted = [...brokers].sort((a, b) => a - b);
  const n = sorted.length;
  if (replicationFactor < 1 || replicationFactor > n)
    throw new RangeError(`replication factor ${replicationFactor} with ${n} live brokers`);
  const out: number[][] = [];
  for (let p = first; p < first + count; p++) {
    const replicas: number[] = [];
    for (let r = 0; r < replicationFactor; r++) replicas.push(sorted[(start + p + r) % n]!);
    out.push(replicas);
  }
  return out;
}

export function newPartition(
  topic: string,
  partition: number,
  replicas: number[],
): PartitionRecord {
  return {
    topic,
    partition,
    replicas,
    isr: [...replicas],
    leader: replicas[0]!,
    leaderEpoch: 0,
    partitionEpoch: 0,
  };
}

export interface ElectionOptions {
  /** With no live in-sync replica, elect a live out-of-sync one (loses records). */
  unclean?: boolean;
  /** Move leadership back to the first replica once it is live and in sync. */
  preferred?: boolean;
  /** Live brokers in controlled shutdown: they give up leadership and ISR places they can. */
  leaving?: ReadonlySet<number>;
}

/**
 * The partition state the controller wants given which brokers are live:
 * - the ISR drops brokers that are not live, but never becomes empty (its last member stays,
 *   so a clean election can still pick the replica that has every acknowledged record);
 * - the leader stays while it is live and in the ISR; otherwise the first live ISR member in
 *   replica order leads (clean election), or nobody (-1, the partition is offline) unless
 *   `unclean` elects a live out-of-sync replica, which becomes the whole ISR;
 * - with `preferred`, the first replica takes leadership back once it is live and in sync;
 * - a broker `leaving` (live, but stopping) leaves the ISR and leadership to any live member
 *   that is not leaving; where it is the only one it stays (the partition stays up until it
 *   stops, and it leads again at once if it comes back within its session);
 * - a changed leader bumps the leader epoch, and any change bumps the partition epoch.
 * Returns the same object when nothing changes.
 */
export function reconcilePartition(
  p: PartitionRecord,
  live: ReadonlySet<number>,
  opts: ElectionOptions = {},
): PartitionRecord {
  const leaving = opts.leaving ?? new Set<number>();
  const staying = (b: number) => live.has(b) && !leaving.has(b);
  const liveIsr = p.isr.filter((b) => live.has(b));
  const stayingIsr = liveIsr.filter(staying);
  let isr = stayingIsr.length > 0 ? stayingIsr : liveIsr.length > 0 ? liveIsr : p.isr;
  let leader = p.leader;
  if (leader === NO_LEADER || !live.has(leader) || !isr.includes(leader)) {
    leader =
      p.replicas.find((b) => staying(b) && isr.includes(b)) ??
      p.replicas.find((b) => live.has(b) && isr.includes(b)) ??
      NO_LEADER;
  }
  if (leader === NO_LEADER && opts.unclean) {
    const survivor = p.replicas.find(staying) ?? p.replicas.find((b) => live.has(b));
    if (survivor !== undefined) {
      leader = survivor;
      isr = [survivor];
    }
  }
  const preferred = p.replicas[0]!;
  if (opts.preferred && leader !== preferred && staying(preferred) && isr.includes(preferred))
    leader = preferred;
  const isrChanged = isr.length !== p.isr.length || isr.some((b, i) => b !== p.isr[i]);
  if (leader === p.leader && !isrChanged) return p;
  return {
    ...p,
    isr,
    leader,
    leaderEpoch: leader !== p.leader && leader !== NO_LEADER ? p.leaderEpoch + 1 : p.leaderEpoch,
    partitionEpoch: p.partitionEpoch + 1,
  };
}

/**
 * Starts moving a partition to `target`: the new replicas join `replicas` (and start copying
 * as followers, outside the ISR); the old ones stay until completeReassignment drops them.
 */
export function startReassignment(p: PartitionRecord, target: number[]): PartitionRecord {
  return {
    ...p,
    replicas: [...target, ...p.replicas.filter((b) => !target.includes(b))],
    targetReplicas: target,
    partitionEpoch: p.partitionEpoch + 1,
  };
}

/**
 * Finishes a reassignment once every target replica is in the ISR: the old replicas go, and
 * leadership moves to a live in-sync target replica if the leader was one of the old.
 * Returns the same object while it cannot finish yet.
 */
export function completeReassignment(
  p: PartitionRecord,
  live: ReadonlySet<number>,
): PartitionRecord {
  const target = p.targetReplicas;
  if (!target?.every((b) => p.isr.includes(b))) return p;
  const isr = target.filter((b) => p.isr.includes(b));
  let leader = p.leader;
  if (!target.includes(leader)) leader = isr.find((b) => live.has(b)) ?? NO_LEADER;
  const { targetReplicas: _done, ...rest } = p;
  return {
    ...rest,
    replicas: [...target],
    isr,
    leader,
    leaderEpoch: leader !== p.leader && leader !== NO_LEADER ? p.leaderEpoch + 1 : p.leaderEpoch,
    partitionEpoch: p.partitionEpoch + 1,
  };
}
