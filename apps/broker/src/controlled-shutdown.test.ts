import type { BrokerRecord, PartitionRecord } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { shutdownSettled } from './controlled-shutdown.js';

const broker = (id: number, fenced: boolean): [number, BrokerRecord] => [
  id,
  {
    id,
    address: `b${id}:1`,
    incarnation: 'x',
    epoch: 1,
    fenced,
    rack: '',
    tokenHash: '',
    adminUrl: '',
    kafkaAddress: '',
  },
];
const part = (leader: number, isr: number[], replicas = [1, 2, 3]): PartitionRecord => ({
  topic: 't',
  partition: 0,
  replicas,
  isr,
  leader,
  leaderEpoch: 1,
  partitionEpoch: 1,
});
// Broker 1 stops; 2 is live, 3 is fenced.
const brokers = new Map([broker(1, true), broker(2, false), broker(3, true)]);

describe('shutdownSettled (broker 1 stopping)', () => {
  it('waits while it leads a partition', () => {
    expect(shutdownSettled(1, [part(1, [1, 2])], brokers)).toBe(false);
  });

  it('waits while it is in an ISR beside a live replica', () => {
    expect(shutdownSettled(1, [part(2, [2, 1])], brokers)).toBe(false);
  });

  it('is done once others lead and it is in no ISR with a live replica', () => {
    expect(shutdownSettled(1, [part(2, [2]), part(2, [2], [2, 3])], brokers)).toBe(true);
  });

  it('does not wait for partitions that have nowhere else to go', () => {
    // Only in-sync replica (offline once it stops), or beside a fenced replica only.
    expect(shutdownSettled(1, [part(-1, [1], [1]), part(-1, [1, 3])], brokers)).toBe(true);
  });
});
