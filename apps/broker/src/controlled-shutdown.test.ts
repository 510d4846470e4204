import type { BrokerRecord, PartitionRecord } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { shutdownSettled } from './controlled-shutdown.js';

const broker = (id: number, state: 'live' | 'leaving' | 'fenced'): [number, BrokerRecord] => [
  id,
  {
    id,
    address: `b${id}:1`,
    incarnation: 'x',
    epoch: 1,
    fenced: state === 'fenced',
    shuttingDown: state === 'leaving',
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
// Broker 1 stops; 2 is live, 3 is fenced, 4 is stopping too.
const brokers = new Map([
  broker(1, 'leaving'),
  broker(2, 'live'),
  broker(3, 'fenced'),
  broker(4, 'leaving'),
]);

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
    // Only in-sync replica, or beside a fenced or another stopping replica only: it keeps them.
    const alone = [part(1, [1], [1]), part(1, [1, 3]), part(1, [1, 4], [1, 4])];
    expect(shutdownSettled(1, alone, brokers)).toBe(true);
  });
});
