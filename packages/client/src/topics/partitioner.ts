import { InvalidRequestError, partitionForKey } from '@strand/wire';
import type { PartitionerFn, ProducerRecord } from './types.js';

/** Per-topic partitioner state, kept by the producer next to the topic's other state. */
export interface PartitionerSlot {
  /** The sticky partition for records without a key; -1 before the first. */
  sticky: number;
  /** Round-robin counter. */
  next: number;
}

export const newSlot = (): PartitionerSlot => ({ sticky: -1, next: 0 });

export interface Partitioner {
  choose(record: ProducerRecord, numPartitions: number, slot: PartitionerSlot): number;
  /** A batch of `partition` was sealed: a sticky partitioner moves on to another partition. */
  sealed(partition: number, numPartitions: number, slot: PartitionerSlot): void;
}

const randomOther = (than: number, n: number): number => {
  if (n <= 1) return 0;
  const r = Math.floor(Math.random() * (n - 1));
  return r >= than && than >= 0 ? r + 1 : r;
};

const roundRobin = (n: number, slot: PartitionerSlot): number => {
  const p = slot.next % n;
  slot.next = (slot.next + 1) % 0x40000000;
  return p;
};

const hasKey = (r: ProducerRecord): r is ProducerRecord & { key: string | Uint8Array } =>
  r.key !== null && r.key !== undefined;

/** Kafka's default: keyed → murmur2; unkeyed → one partition until its batch is sealed. */
const stickyDefault: Partitioner = {
  choose(record, n, slot) {
    if (hasKey(record)) return partitionForKey(record.key, n);
    if (slot.sticky < 0 || slot.sticky >= n) slot.sticky = randomOther(-1, n);
    return slot.sticky;
  },
  sealed(partition, n, slot) {
    if (slot.sticky === partition) slot.sticky = randomOther(partition, n);
  },
};

const murmur2: Partitioner = {
  choose: (record, n, slot) =>
    hasKey(record) ? partitionForKey(record.key, n) : roundRobin(n, slot),
  sealed() {},
};

const roundRobinOnly: Partitioner = {
  choose: (_record, n, slot) => roundRobin(n, slot),
  sealed() {},
};

const custom = (fn: PartitionerFn): Partitioner => ({
  choose(record, n) {
    const p = fn(record, n);
    if (!Number.isInteger(p) || p < 0 || p >= n) {
      throw new InvalidRequestError(
        `the partitioner chose partition ${p} of topic "${record.topic}", which has ${n}`,
      );
    }
    return p;
  },
  sealed() {},
});

export function makePartitioner(
  choice: 'default' | 'murmur2' | 'round-robin' | PartitionerFn,
): Partitioner {
  if (typeof choice === 'function') return custom(choice);
  if (choice === 'murmur2') return murmur2;
  if (choice === 'round-robin') return roundRobinOnly;
  return stickyDefault;
}
