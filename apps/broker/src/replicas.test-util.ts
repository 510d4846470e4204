import { join } from 'node:path';
import { PartitionLog } from '@strand/log';
import type { Acked } from '@strand/testkit';
import { decodeBatches } from '@strand/wire';

export interface ReplicaRecord {
  offset: number;
  value: string;
  key: string;
  /** The batch it came in, for the report: producer id, sequence, leader epoch, base offset. */
  batch: string;
}

/** Every record of each partition of `topic` in one broker's log folder, read from disk. */
export async function readReplica(
  logDir: string,
  topic: string,
  partitions: number,
): Promise<ReplicaRecord[][]> {
  const perPartition: ReplicaRecord[][] = [];
  for (let p = 0; p < partitions; p++) {
    const log = await PartitionLog.open(join(logDir, `${topic}-${p}`));
    const records: ReplicaRecord[] = [];
    let offset = log.logStartOffset;
    while (offset < log.logEndOffset) {
      const { records: raw } = await log.read(offset, 1 << 20);
      for (const batch of decodeBatches(raw))
        for (const r of batch.records) {
          records.push({
            offset: r.offset,
            value: r.value!.toString(),
            key: r.key!.toString(),
            batch: `pid ${batch.header.producerId} seq ${batch.header.baseSequence} epoch ${batch.header.partitionLeaderEpoch} base ${batch.header.baseOffset}`,
          });
          offset = r.offset + 1;
        }
    }
    await log.close();
    perPartition.push(records);
  }
  return perPartition;
}

/** What a replica check found; every list empty when the replicas are right. */
export interface ReplicaProblems {
  /** A replica whose copy of a partition differs from the first replica's. */
  diverged: string[];
  /** Offsets not dense from 0. */
  gaps: string[];
  duplicated: string[];
  /** A key's values not in the order they were produced (`p{n}-{seq}`, seq rising per key). */
  disordered: string[];
  /** Acknowledged (acks=all) but not at the acknowledged offset. */
  lost: string[];
}

/**
 * The chaos checker: every replica holds the same records at the same offsets, dense from 0,
 * each produced value once and in produce order per key, and every acknowledged value where
 * its acknowledgement said.
 */
export function checkReplicas(
  replicas: Map<number, ReplicaRecord[][]>,
  acked: Map<string, Acked>,
): ReplicaProblems {
  const problems: ReplicaProblems = {
    diverged: [],
    gaps: [],
    duplicated: [],
    disordered: [],
    lost: [],
  };
  const [first, ...others] = [...replicas.keys()];
  const reference = replicas.get(first!)!;
  reference.forEach((records, p) => {
    for (const b of others) {
      const copy = replicas.get(b)![p]!;
      const at = firstDifference(records, copy);
      if (at !== undefined)
        problems.diverged.push(
          `partition ${p}: broker ${b} differs from broker ${first} at index ${at} (${JSON.stringify(copy[at])} vs ${JSON.stringify(records[at])}; lengths ${copy.length} vs ${records.length})`,
        );
    }
    records.forEach((r, i) => {
      if (r.offset !== i) problems.gaps.push(`partition ${p}: offset ${r.offset} at index ${i}`);
    });
    const seen = new Map<string, number>();
    const lastSeq = new Map<string, number>();
    for (const r of records) {
      const before = seen.get(r.value);
      if (before !== undefined)
        problems.duplicated.push(
          `${r.value} in partition ${p} at ${before} and ${r.offset} (${r.batch})`,
        );
      seen.set(r.value, r.offset);
      const seq = Number(r.value.split('-')[1]);
      if (seq <= (lastSeq.get(r.key) ?? -1))
        problems.disordered.push(
          `${r.value} (key ${r.key}) at ${p}/${r.offset} after seq ${lastSeq.get(r.key)}`,
        );
      lastSeq.set(r.key, Math.max(seq, lastSeq.get(r.key) ?? -1));
    }
  });
  for (const [value, at] of acked) {
    const r = reference[at.partition]?.[at.offset];
    if (r?.value === value) continue;
    const found = reference[at.partition]?.find((x) => x.value === value);
    problems.lost.push(
      `${value} acked at ${at.partition}/${at.offset}, there ${r ? `${r.value} (${r.batch})` : 'nothing'}, found ${found ? `at ${found.offset} (${found.batch})` : 'nowhere'}`,
    );
  }
  return problems;
}

function firstDifference(a: ReplicaRecord[], b: ReplicaRecord[]): number | undefined {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (
      !x ||
      !y ||
      x.offset !== y.offset ||
      x.value !== y.value ||
      x.key !== y.key ||
      x.batch !== y.batch
    )
      return i;
  }
  return undefined;
}
