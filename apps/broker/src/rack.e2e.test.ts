import * as grpc from '@grpc/grpc-js';
import { Admin, Consumer, type ConsumerRecord, Producer } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { brokerService } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// Fetch from a follower in the consumer's rack (Kafka's KIP-392): 3 brokers in racks
// rack-1..rack-3, a topic replicated to all three.

const registry = new ProcessRegistry();
let cluster: TopicCluster;
let admin: Admin;
const TOPIC = 'near';
const COUNT = 300;
const rackOf = (id: number) => `rack-${id}`;

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
interface RawFetch {
  partitions: { records: Buffer; high_watermark: number; error: { code: string } | null }[];
}

function rawFetch(address: string, req: unknown): Promise<RawFetch> {
  const Ctor = brokerService('Broker');
  const c = new Ctor(address, grpc.credentials.createInsecure()) as AnyClient;
  return new Promise<RawFetch>((resolve, reject) =>
    c.Fetch!(req, (err: unknown, res: RawFetch) => (err ? reject(err) : resolve(res))),
  ).finally(() => c.close());
}

async function readN(consumer: Consumer, count: number, timeoutMs: number) {
  const out: ConsumerRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) out.push(...(await consumer.poll(300)));
  return out;
}

async function inSyncEverywhere(): Promise<{ leader: number; follower: number }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const p = (await admin.describeTopic(TOPIC)).partitions[0]!;
    if (p.isr.length === 3 && p.leader > 0)
      return { leader: p.leader, follower: p.replicas.find((b) => b !== p.leader)! };
    if (Date.now() > deadline) throw new Error(`ISR still ${p.isr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 3, {
    // Long broker sessions: a paused leader stays the leader for the whole test.
    coordinatorArgs: ['--broker-session-timeout-ms', '60000'],
    brokerArgsFor: (id) => ['--rack', rackOf(id)],
  });
  admin = new Admin({ bootstrap: cluster.bootstrap });
  await admin.createTopic({ name: TOPIC, partitions: 1, replicationFactor: 3 });
  const producer = new Producer({ bootstrap: cluster.bootstrap });
  await Promise.all(
    Array.from({ length: COUNT }, (_, i) => producer.send({ topic: TOPIC, value: `r${i}` })),
  );
  await producer.close();
});

afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

describe('reading from a replica in the consumer rack', () => {
  it('brokers report their racks', async () => {
    const { brokers } = await admin.describeCluster();
    expect(brokers.map((b) => [b.id, b.rack]).sort()).toEqual([
      [1, 'rack-1'],
      [2, 'rack-2'],
      [3, 'rack-3'],
    ]);
  });

  it('a follower answers only consumers that allow it, and never past what it knows is committed', async () => {
    const { follower } = await inSyncEverywhere();
    const address = cluster.brokers.get(follower)!.address;
    const fetch = (offset: number, allow: boolean) =>
      rawFetch(address, {
        max_wait_ms: 0,
        allow_follower: allow,
        partitions: [{ topic: TOPIC, partition: 0, offset }],
      });
    expect((await fetch(0, false)).partitions[0]!.error?.code).toBe('NOT_LEADER');
    const beyond = await fetch(COUNT + 5, true);
    expect(beyond.partitions[0]!.error?.code).toBe('OFFSET_NOT_AVAILABLE');
    const read = (await fetch(0, true)).partitions[0]!;
    expect(read.error).toBeNull();
    expect(read.records.length).toBeGreaterThan(0);
    expect(read.high_watermark).toBeLessThanOrEqual(COUNT);
  });

  it('a consumer in a follower rack reads everything from that follower while the leader is stopped', async () => {
    const { leader, follower } = await inSyncEverywhere();
    const others = [...cluster.brokers].filter(([id]) => id !== leader).map(([, b]) => b.address);
    const near = new Consumer({ bootstrap: others, rack: rackOf(follower), maxWaitMs: 200 });
    near.assign([{ topic: TOPIC, partition: 0, offset: 0 }]);
    const before = await readN(near, COUNT, 15_000);
    expect(before.length).toBe(COUNT);

    const leaderProc = cluster.brokers.get(leader)!.proc;
    leaderProc.pause();
    try {
      // Read it all again: only the follower can answer now.
      near.seek({ topic: TOPIC, partition: 0 }, 0);
      const again = await readN(near, COUNT, 15_000);
      expect(again.map((r) => r.value?.toString())).toEqual(
        Array.from({ length: COUNT }, (_, i) => `r${i}`),
      );
      expect(again.map((r) => r.offset)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      // A consumer from a rack with no replica waits on the stopped leader and gets nothing.
      const far = new Consumer({ bootstrap: others, rack: 'elsewhere', maxWaitMs: 200 });
      far.assign([{ topic: TOPIC, partition: 0, offset: 0 }]);
      expect(await readN(far, 1, 1500)).toEqual([]);
      await far.close();
    } finally {
      leaderProc.resume();
    }
    await near.close();
  });

  it('new records reach a follower-reading consumer as they are committed', async () => {
    const { follower } = await inSyncEverywhere();
    const near = new Consumer({ bootstrap: cluster.bootstrap, rack: rackOf(follower) });
    near.assign([{ topic: TOPIC, partition: 0, offset: COUNT }]);
    const producer = new Producer({ bootstrap: cluster.bootstrap });
    const reading = readN(near, 50, 15_000);
    for (let i = 0; i < 50; i++) await producer.send({ topic: TOPIC, value: `late${i}` });
    const got = await reading;
    expect(got.map((r) => r.value?.toString())).toEqual(
      Array.from({ length: 50 }, (_, i) => `late${i}`),
    );
    await producer.close();
    await near.close();
  });
});
