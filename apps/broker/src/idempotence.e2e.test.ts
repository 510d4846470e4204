import * as grpc from '@grpc/grpc-js';
import { Admin, Consumer, Producer } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { brokerService, decodeBatches, encodeBatch, stampProducer } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// What a leader answers to idempotent producers' retries, straight through gRPC.

const registry = new ProcessRegistry();
let cluster: TopicCluster;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

interface Answer {
  base_offset: number;
  error: { code: string; message: string } | null;
}

function call<T>(method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method]!(req, (err: unknown, res: T) => (err ? reject(err) : resolve(res))),
  );
}

async function produce(topic: string, ...batches: Buffer[]): Promise<Answer> {
  const res = await call<{ partitions: Answer[] }>('Produce', {
    acks: -1,
    partitions: [{ topic, partition: 0, records: Buffer.concat(batches) }],
  });
  return res.partitions[0]!;
}

const batch = (producerId: number, seq: number, values: string[]) => {
  const b = encodeBatch(values.map((value) => ({ value })));
  stampProducer(b, producerId, 0, seq);
  return b;
};

async function values(topic: string): Promise<string[]> {
  const res = await call<{ partitions: { records: Buffer }[] }>('Fetch', {
    partitions: [{ topic, partition: 0, offset: 0 }],
  });
  return decodeBatches(res.partitions[0]!.records).flatMap((b) =>
    b.records.map((r) => `${r.offset}:${r.value?.toString()}`),
  );
}

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 1);
  const Ctor = brokerService('Broker');
  client = new Ctor(cluster.bootstrap[0]!, grpc.credentials.createInsecure()) as typeof client;
});

afterAll(async () => {
  client?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

describe('idempotent retries', () => {
  it('retried batches that were not written next to each other are never answered with one base offset', async () => {
    await call('CreateTopic', { name: 'apart', partitions: 1, replication_factor: 1 });
    const a0 = batch(7001, 0, ['a0', 'a1']);
    const a1 = batch(7001, 2, ['a2', 'a3', 'a4']);
    expect(await produce('apart', a0)).toMatchObject({ base_offset: 0, error: null });
    // Another producer's batch lands between them.
    expect(await produce('apart', batch(7002, 0, ['b0']))).toMatchObject({ base_offset: 2 });
    expect(await produce('apart', a1)).toMatchObject({ base_offset: 3, error: null });

    // Both retried in one request: a single base offset (0) would place a2..a4 at 2..4,
    // where b0 and a2, a3 are. The leader refuses, so the producer resends them one by one.
    const both = await produce('apart', a0, a1);
    expect(both.error).toMatchObject({
      code: 'OUT_OF_ORDER_SEQUENCE',
      message: expect.stringMatching(/not written next to each other/),
    });
    expect(await produce('apart', a0)).toMatchObject({ base_offset: 0, error: null });
    expect(await produce('apart', a1)).toMatchObject({ base_offset: 3, error: null });

    // Retries that were written next to each other still get their first offset.
    const a2 = batch(7001, 5, ['a5']);
    const a3 = batch(7001, 6, ['a6', 'a7']);
    expect(await produce('apart', a2, a3)).toMatchObject({ base_offset: 6, error: null });
    expect(await produce('apart', a2, a3)).toMatchObject({ base_offset: 6, error: null });

    // Nothing was written twice, nothing went missing.
    expect(await values('apart')).toEqual([
      '0:a0',
      '1:a1',
      '2:b0',
      '3:a2',
      '4:a3',
      '5:a4',
      '6:a5',
      '7:a6',
      '8:a7',
    ]);
  });
});

describe('an idempotent producer after a batch failed for good', () => {
  it('goes on producing to that partition: the failed sequence leaves no gap the leader waits on', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap });
    await admin.createTopic({
      name: 'gap',
      partitions: 1,
      replicationFactor: 1,
      configs: { 'max.message.bytes': '1024' },
    });
    await admin.close();
    const producer = new Producer({
      bootstrap: cluster.bootstrap,
      lingerMs: 0,
      deliveryTimeoutMs: 5_000,
    });
    try {
      expect((await producer.send({ topic: 'gap', partition: 0, value: 'a' })).offset).toBe(0);
      // Refused by the leader (not retriable): its sequence numbers were never written.
      await expect(
        producer.send({ topic: 'gap', partition: 0, value: 'x'.repeat(4096) }),
      ).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE' });
      // Before the fix every later send was refused OUT_OF_ORDER_SEQUENCE until it timed out.
      const after = await Promise.all(
        ['b', 'c', 'd'].map((value) => producer.send({ topic: 'gap', partition: 0, value })),
      );
      expect(after.map((m) => m.offset)).toEqual([1, 2, 3]);
      expect(await values('gap')).toEqual(['0:a', '1:b', '2:c', '3:d']);
    } finally {
      await producer.close();
    }
  });
});

describe('acks=all producers while their leader is stopped (SIGTERM) and restarted at once', () => {
  it('every acknowledged record is at the offset it was acknowledged with, once', async () => {
    const c = await startTopicCluster(registry, 3, {
      // The stopped leader is back within its session: it leads on, at the same epoch. It
      // stops without a controlled shutdown (as when no controller answers it): the retries
      // go back to it (rolling-restart.e2e covers the hand-over).
      coordinatorArgs: ['--broker-session-timeout-ms', '8000', '--broker-heartbeat-ms', '200'],
      brokerArgs: ['--replica-lag-time-max-ms', '8000', '--controlled-shutdown-timeout-ms', '0'],
    });
    const admin = new Admin({ bootstrap: c.bootstrap, requestTimeoutMs: 5000 });
    const producers = [1, 2, 3].map(
      () =>
        new Producer({
          bootstrap: c.bootstrap,
          acks: 'all',
          requestTimeoutMs: 3000,
          retries: 1000,
          deliveryTimeoutMs: 60_000,
          lingerMs: 0,
        }),
    );
    try {
      await admin.createTopic({
        name: 'stopped',
        partitions: 1,
        replicationFactor: 3,
        configs: { 'min.insync.replicas': '2' },
      });
      const acked = new Map<string, number>();
      const sends: Promise<void>[] = [];
      const wave = (tag: string) =>
        producers.forEach((producer, p) => {
          for (let i = 0; i < 5; i++) {
            const value = `p${p}-${tag}-${i}`;
            sends.push(
              producer
                .send({ topic: 'stopped', partition: 0, value })
                .then((m) => void acked.set(value, m.offset)),
            );
          }
        });
      for (let w = 0; w < 5; w++) wave(`before${w}`);
      await Promise.all(sends);
      const leader = (await admin.describeTopic('stopped')).partitions[0]!.leader;

      // A follower stops fetching, so the high watermark stalls: waves sent meanwhile, one
      // request per producer each (fewer than a producer has in flight at once), lie
      // interleaved in the log, written and not acknowledged.
      const stalled = [1, 2, 3].find((b) => b !== leader)!;
      c.brokers.get(stalled)!.proc.pause();
      for (let w = 0; w < 4; w++) {
        wave(`stalled${w}`);
        await sleep(30);
      }
      await sleep(300);
      // The leader stops and comes back: every batch in flight is retried, and each retry is
      // a duplicate of a batch it has.
      await c.brokers.get(leader)!.proc.terminate();
      await c.startBroker(leader);
      c.brokers.get(stalled)!.proc.resume();
      await Promise.all(sends);
      expect((await admin.describeTopic('stopped')).partitions[0]!.leader).toBe(leader);

      const consumer = new Consumer({ bootstrap: c.bootstrap, maxWaitMs: 200 });
      consumer.assign([{ topic: 'stopped', partition: 0, offset: 0 }]);
      const log = new Map<number, string>();
      const found = new Map<string, number>();
      let duplicated = 0;
      const deadline = Date.now() + 30_000;
      while (log.size < acked.size && Date.now() < deadline)
        for (const r of await consumer.poll(500)) {
          const v = r.value!.toString();
          if (found.has(v)) duplicated += 1;
          found.set(v, r.offset);
          log.set(r.offset, v);
        }
      await consumer.close();
      const misplaced = [...acked].filter(([value, offset]) => log.get(offset) !== value);
      expect(
        misplaced.slice(0, 3).map(([v, o]) => `${v} acked at ${o}, found at ${found.get(v)}`),
        `${misplaced.length} of ${acked.size} acknowledged records are not where their acknowledgement says`,
      ).toEqual([]);
      expect(acked.size).toBe(9 * 15);
      expect(log.size).toBe(acked.size);
      expect(duplicated).toBe(0);
    } finally {
      await Promise.all(producers.map((p) => p.close()));
      await admin.close();
      for (const b of c.brokers.values()) await b.proc.terminate();
      for (const co of c.coordinators.values()) await co.proc.terminate();
      c.cleanup();
    }
  }, 120_000);
});

describe('an idempotent producer whose batches the leader wrote but could not acknowledge', () => {
  it('never writes them again at a new epoch when an earlier batch fails for good', async () => {
    const c = await startTopicCluster(registry, 2, {
      // The paused follower stays in the ISR: the leader's high watermark stalls, so it has
      // the batches and answers TIMEOUT for them.
      brokerArgs: ['--replica-lag-time-max-ms', '60000'],
    });
    const admin = new Admin({ bootstrap: c.bootstrap, requestTimeoutMs: 5000 });
    const producer = new Producer({
      bootstrap: c.bootstrap,
      acks: 'all',
      lingerMs: 0,
      requestTimeoutMs: 1000,
      retryBackoffMs: 100,
      deliveryTimeoutMs: 3000,
    });
    try {
      await admin.createTopic({
        name: 'unresolved',
        partitions: 1,
        replicationFactor: 2,
        configs: { 'min.insync.replicas': '2' },
      });
      expect((await producer.send({ topic: 'unresolved', partition: 0, value: 'a' })).offset).toBe(
        0,
      );
      const leader = (await admin.describeTopic('unresolved')).partitions[0]!.leader;
      const follower = leader === 1 ? 2 : 1;
      c.brokers.get(follower)!.proc.pause();
      // b1 and b2 leave in two requests: both written by the leader, neither acknowledged.
      const b1 = producer.send({ topic: 'unresolved', partition: 0, value: 'b1' });
      await sleep(300);
      const b2 = producer.send({ topic: 'unresolved', partition: 0, value: 'b2' });
      // b1's delivery timeout ends its retries: the producer moves the partition to a new
      // epoch. Before the fix b2 was renumbered there and written a second time.
      await expect(b1).rejects.toMatchObject({ code: 'TIMEOUT' });
      await expect(b2).rejects.toMatchObject({ code: 'TIMEOUT' });
      c.brokers.get(follower)!.proc.resume();
      expect((await producer.send({ topic: 'unresolved', partition: 0, value: 'c' })).offset).toBe(
        3,
      );
      const consumer = new Consumer({ bootstrap: c.bootstrap, maxWaitMs: 200 });
      consumer.assign([{ topic: 'unresolved', partition: 0, offset: 0 }]);
      const seen: string[] = [];
      const deadline = Date.now() + 10_000;
      while (!seen.includes('c') && Date.now() < deadline)
        for (const r of await consumer.poll(500)) seen.push(r.value!.toString());
      await consumer.close();
      expect(seen).toEqual(['a', 'b1', 'b2', 'c']);
    } finally {
      await producer.close();
      await admin.close();
      for (const b of c.brokers.values()) await b.proc.terminate();
      for (const co of c.coordinators.values()) await co.proc.terminate();
      c.cleanup();
    }
  }, 60_000);
});
