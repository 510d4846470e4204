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

/**
 * The partition state the controller wants given which brokers are live:
 * - the ISR drops brokers that are not live, but never becomes empty (its last member stays,
 *   so a clean election can still pick the replica that has every acknowledged record);
 * - the leader stays while it is live and in the ISR; otherwise the first live ISR member in
 *   replica order leads (clean election only), or nobody (-1, the partition is offline);
 * - a changed leader bumps the leader epoch, and any change bumps the partition epoch.
 * Returns the same object when nothing changes.
 */
export function reconcilePartition(p: PartitionRecord, live: ReadonlySet<number>): PartitionRecord {
  const liveIsr = p.isr.filter((b) => live.has(b));
  const isr = liveIsr.length > 0 ? liveIsr : p.isr;
  let leader = p.leader;
  if (leader === NO_LEADER || !live.has(leader) || !isr.includes(leader)) {
    leader = p.replicas.find((b) => live.has(b) && isr.includes(b)) ?? NO_LEADER;
  }
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
