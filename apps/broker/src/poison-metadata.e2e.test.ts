import { Admin, Consumer, type ConsumerRecord, Producer } from '@strand/client';
import { KvNode, Role } from '@strand/kv';
import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// Metadata records that do not decode, as a data folder written before `/strand/` was
// reserved may hold them (`strand kv put /strand/topics/bogus 'not json'` was accepted then
// and brought the coordinator down on every start). Every reader must skip them.

const POISON: [string, string][] = [
  ['/strand/topics/bogus', 'not json'],
  ['/strand/topics/shape', '{"name":"shape"}'],
  ['/strand/partitions/bogus/0', '[]'],
  ['/strand/brokers/7', '\u0000\u0001garbage'],
  ['/strand/groups/readers', '{"group":"readers","generation":"many"}'],
  ['/strand/groups/other', JSON.stringify({ group: 'someone-else' })],
  ['/strand/offsets/readers/events/0', 'NaN'],
  ['/strand/producer-ids', 'lots'],
];

/** Writes `entries` into a fresh coordinator data folder, the way an old coordinator did. */
async function seed(dataDir: string, entries: [string, string][]): Promise<void> {
  const node = await KvNode.open({
    id: 1,
    peers: new Map([[1, '127.0.0.1:1']]),
    dataDir,
    transport: { send: () => undefined },
    tickMs: 10,
  });
  try {
    for (let i = 0; node.status().role !== Role.Leader; i++) {
      if (i > 500) throw new Error('the seeding node did not become leader');
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const [key, value] of entries)
      await node.propose({ t: 'put', key: Buffer.from(key), value: Buffer.from(value) });
  } finally {
    await node.close();
  }
}

const registry = new ProcessRegistry();
let cluster: TopicCluster;

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 1, {
    seedCoordinator: (_id, dir) => seed(dir, POISON),
  });
});

afterAll(async () => {
  await registry.stopAll();
  cluster?.cleanup();
});

async function consumeAll(groupId: string, count: number): Promise<ConsumerRecord[]> {
  const consumer = new Consumer({
    bootstrap: cluster.bootstrap,
    groupId,
    autoOffsetReset: 'earliest',
  });
  const got: ConsumerRecord[] = [];
  try {
    consumer.subscribe(/^ev.*/);
    const deadline = Date.now() + 30_000;
    while (got.length < count && Date.now() < deadline) got.push(...(await consumer.poll()));
    await consumer.commit();
  } finally {
    await consumer.close();
  }
  return got;
}

describe('a data folder holding metadata records that do not decode', () => {
  it('the coordinator starts, serves topics, groups and producer ids, reports the records, repairs on delete and restarts', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap });
    try {
      await admin.createTopic({ name: 'events', partitions: 2 });
      const producer = new Producer({ bootstrap: cluster.bootstrap });
      for (let i = 0; i < 20; i++) await producer.send({ topic: 'events', value: `v${i}` });
      await producer.close();
      expect((await consumeAll('readers', 20)).length).toBe(20);
      expect((await consumeAll('other', 20)).length).toBe(20);

      const cluster1 = await admin.describeCluster();
      const keys = cluster1.malformedRecords.map((m) => m.key);
      for (const k of [
        '/strand/brokers/7',
        '/strand/partitions/bogus/0',
        '/strand/topics/bogus',
        '/strand/topics/shape',
      ])
        expect(keys).toContain(k);
      expect(
        cluster1.malformedRecords.find((m) => m.key === '/strand/topics/bogus')?.error,
      ).toMatch(/not JSON/);
      expect((await admin.listTopics()).map((t) => t.name)).toEqual(['events']);

      // Deleting the topic removes its record, malformed or not.
      await admin.deleteTopic('bogus');
      expect((await admin.describeCluster()).malformedRecords.map((m) => m.key)).not.toContain(
        '/strand/topics/bogus',
      );

      // Both processes lived through all of it; a restart of the coordinator works too.
      const coordinator = cluster.coordinators.get(1)!.proc;
      expect(coordinator.running).toBe(true);
      expect(cluster.brokers.get(1)!.proc.running).toBe(true);
      await coordinator.terminate();
      await cluster.startCoordinator(1);
      const producer2 = new Producer({ bootstrap: cluster.bootstrap });
      await producer2.send({ topic: 'events', value: 'after' });
      await producer2.close();
      const again = new Consumer({ bootstrap: cluster.bootstrap });
      await again.assignTopic('events', 'beginning');
      const all: ConsumerRecord[] = [];
      const deadline = Date.now() + 30_000;
      while (all.length < 21 && Date.now() < deadline) all.push(...(await again.poll()));
      await again.close();
      expect(all.map((r) => r.value?.toString()).sort()).toContain('after');
      expect(all.length).toBe(21);
    } finally {
      await admin.close();
    }
  });
});
