import { Admin } from '@strand/client';
import {
  ApiVersions,
  Fetch,
  KafkaError,
  Metadata,
  OffsetForLeaderEpoch,
  Produce,
} from '@strand/kafka-protocol';
import { ProcessRegistry } from '@strand/testkit';
import { decodeBatches, encodeBatch } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from '../cluster.test-util.js';
import { RawKafkaClient } from './client.test-util.js';

/**
 * What Kafka clients depend on, byte by byte through real brokers (2 brokers in racks r1 and
 * r2): acks, batch rules, idempotence, fetch rules, rack-aware reads, leader epochs.
 */

const registry = new ProcessRegistry();
let cluster: TopicCluster;
let admin: Admin;

const batch = (values: string[], opts: Parameters<typeof encodeBatch>[1] = {}) =>
  encodeBatch(
    values.map((v) => ({ value: v })),
    opts,
  );

/** A client connected to the leader of `topic`-`partition`. */
async function leaderClient(topic: string, partition = 0): Promise<RawKafkaClient> {
  const d = await admin.describeTopic(topic);
  const leader = d.partitions.find((p) => p.partition === partition)!.leader;
  return RawKafkaClient.connect(cluster.brokers.get(leader)!.address);
}

const produce = (
  c: RawKafkaClient,
  topic: string,
  records: Buffer | null,
  acks = -1,
  version = 7,
) =>
  c.request(Produce, version, {
    transactionalId: null,
    acks,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });

const partitionOf = (r: Awaited<ReturnType<typeof produce>>) =>
  r.responses[0]!.partitionResponses[0]!;

const fetchReq = (
  topic: string,
  offset: number,
  opts: { maxWaitMs?: number; minBytes?: number; partitionMaxBytes?: number; rackId?: string } = {},
) => ({
  replicaId: -1,
  maxWaitMs: opts.maxWaitMs ?? 0,
  minBytes: opts.minBytes ?? 0,
  maxBytes: 50 * 1024 * 1024,
  isolationLevel: 1,
  topics: [
    {
      topic,
      partitions: [
        {
          partition: 0,
          fetchOffset: offset,
          partitionMaxBytes: opts.partitionMaxBytes ?? 1024 * 1024,
        },
      ],
    },
  ],
  rackId: opts.rackId ?? '',
});

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 2, { brokerArgsFor: (id) => ['--rack', `r${id}`] });
  admin = new Admin({ bootstrap: cluster.bootstrap });
});

afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

describe('Produce', () => {
  it('acks=0 gets no answer at all, and a failure closes the connection', async () => {
    await admin.createTopic({ name: 'b-acks0', partitions: 1 });
    const c = await leaderClient('b-acks0');
    try {
      void produce(c, 'b-acks0', batch(['x']), 0);
      const next = await c.request(ApiVersions, 0, {});
      expect(next.errorCode).toBe(0);
      expect(c.order).toEqual([2]); // the produce (correlation id 1) was never answered
      void produce(c, 'b-missing-topic', batch(['x']), 0);
      await c.closed;
    } finally {
      c.close();
    }
  });

  it('acks=-1 follows min.insync.replicas, as on the gRPC side', async () => {
    await admin.createTopic({
      name: 'b-isr',
      partitions: 1,
      replicationFactor: 1,
      configs: { 'min.insync.replicas': '2' },
    });
    const c = await leaderClient('b-isr');
    try {
      expect(partitionOf(await produce(c, 'b-isr', batch(['x']), -1)).errorCode).toBe(
        KafkaError.NOT_ENOUGH_REPLICAS,
      );
      const one = partitionOf(await produce(c, 'b-isr', batch(['y']), 1));
      expect(one).toMatchObject({ errorCode: 0, baseOffset: 0 });
    } finally {
      c.close();
    }
  });

  it('takes exactly one v2 batch per partition; anything else is INVALID_RECORD and writes nothing', async () => {
    await admin.createTopic({ name: 'b-batches', partitions: 1 });
    const c = await leaderClient('b-batches');
    try {
      const two = Buffer.concat([batch(['a']), batch(['b'])]);
      expect(partitionOf(await produce(c, 'b-batches', two))).toMatchObject({
        errorCode: KafkaError.INVALID_RECORD,
        baseOffset: -1,
      });
      expect(partitionOf(await produce(c, 'b-batches', null)).errorCode).toBe(
        KafkaError.INVALID_RECORD,
      );
      expect(
        partitionOf(await produce(c, 'b-batches', Buffer.from('not a batch at all, no'))).errorCode,
      ).toBe(KafkaError.INVALID_RECORD);
      expect(partitionOf(await produce(c, 'b-batches', batch(['ok'])))).toMatchObject({
        errorCode: 0,
        baseOffset: 0,
      });
    } finally {
      c.close();
    }
  });

  it('answers an idempotent retry with the original offset, and refuses gaps and old epochs', async () => {
    await admin.createTopic({ name: 'b-idem', partitions: 1 });
    const c = await leaderClient('b-idem');
    try {
      const pid = { producerId: 900001, producerEpoch: 3 };
      const first = batch(['a', 'b'], { ...pid, baseSequence: 0 });
      expect(partitionOf(await produce(c, 'b-idem', first))).toMatchObject({
        errorCode: 0,
        baseOffset: 0,
      });
      expect(
        partitionOf(await produce(c, 'b-idem', batch(['c'], { ...pid, baseSequence: 2 }))),
      ).toMatchObject({ baseOffset: 2 });
      expect(partitionOf(await produce(c, 'b-idem', first))).toMatchObject({
        errorCode: 0,
        baseOffset: 0,
      });
      expect(
        partitionOf(await produce(c, 'b-idem', batch(['gap'], { ...pid, baseSequence: 9 })))
          .errorCode,
      ).toBe(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER);
      expect(
        partitionOf(
          await produce(
            c,
            'b-idem',
            batch(['old'], { producerId: 900001, producerEpoch: 2, baseSequence: 0 }),
          ),
        ).errorCode,
      ).toBe(KafkaError.INVALID_PRODUCER_EPOCH);
      const read = await c.request(Fetch, 11, fetchReq('b-idem', 0));
      expect(
        decodeBatches(read.responses[0]!.partitions[0]!.records!).flatMap((b) =>
          b.records.map((r) => r.value?.toString()),
        ),
      ).toEqual(['a', 'b', 'c']);
    } finally {
      c.close();
    }
  });
});

describe('Fetch', () => {
  it('returns whole batches from the one holding the offset, at least one above max_bytes, the LSO at the high watermark', async () => {
    await admin.createTopic({ name: 'b-fetch', partitions: 1 });
    const c = await leaderClient('b-fetch');
    try {
      await produce(c, 'b-fetch', batch(['0', '1', '2', '3', '4']));
      await produce(c, 'b-fetch', batch(['5', '6']));
      const mid = (await c.request(Fetch, 11, fetchReq('b-fetch', 3))).responses[0]!.partitions[0]!;
      expect(mid).toMatchObject({
        errorCode: 0,
        highWatermark: 7,
        lastStableOffset: 7,
        logStartOffset: 0,
        abortedTransactions: [],
        preferredReadReplica: -1,
      });
      expect(decodeBatches(mid.records!).map((b) => b.header.baseOffset)).toEqual([0, 5]);
      const tiny = (await c.request(Fetch, 4, fetchReq('b-fetch', 0, { partitionMaxBytes: 1 })))
        .responses[0]!.partitions[0]!;
      expect(decodeBatches(tiny.records!).map((b) => b.header.baseOffset)).toEqual([0]);
      const past = (await c.request(Fetch, 11, fetchReq('b-fetch', 99))).responses[0]!
        .partitions[0]!;
      expect(past.errorCode).toBe(KafkaError.OFFSET_OUT_OF_RANGE);
    } finally {
      c.close();
    }
  });

  it('long-polls until min_bytes arrive, or max_wait passes', async () => {
    await admin.createTopic({ name: 'b-poll', partitions: 1 });
    const c = await leaderClient('b-poll');
    const p = await leaderClient('b-poll');
    try {
      const t0 = Date.now();
      const empty = await c.request(
        Fetch,
        11,
        fetchReq('b-poll', 0, { maxWaitMs: 800, minBytes: 1 }),
      );
      expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
      expect(empty.responses[0]!.partitions[0]!.records!.length).toBe(0);
      const waiting = c.request(
        Fetch,
        11,
        fetchReq('b-poll', 0, { maxWaitMs: 20_000, minBytes: 1 }),
      );
      await new Promise((r) => setTimeout(r, 200));
      const t1 = Date.now();
      await produce(p, 'b-poll', batch(['wake']));
      const woke = await waiting;
      expect(Date.now() - t1).toBeLessThan(10_000);
      expect(
        decodeBatches(woke.responses[0]!.partitions[0]!.records!)[0]!.records[0]!.value?.toString(),
      ).toBe('wake');
    } finally {
      c.close();
      p.close();
    }
  });

  it('v11+ with a rack: the leader points at an in-sync replica there, which then serves the read', async () => {
    await admin.createTopic({ name: 'b-rack', partitions: 1, replicationFactor: 2 });
    const d = await admin.describeTopic('b-rack');
    const leader = d.partitions[0]!.leader;
    const other = leader === 1 ? 2 : 1;
    const c = await leaderClient('b-rack');
    try {
      await produce(c, 'b-rack', batch(['r']));
      // Both replicas in sync before asking.
      for (
        let i = 0;
        i < 100 && (await admin.describeTopic('b-rack')).partitions[0]!.isr.length < 2;
        i++
      )
        await new Promise((r) => setTimeout(r, 100));
      const here = (await c.request(Fetch, 11, fetchReq('b-rack', 0, { rackId: `r${leader}` })))
        .responses[0]!.partitions[0]!;
      expect(here.preferredReadReplica).toBe(-1);
      const there = (await c.request(Fetch, 11, fetchReq('b-rack', 0, { rackId: `r${other}` })))
        .responses[0]!.partitions[0]!;
      expect(there).toMatchObject({ preferredReadReplica: other, errorCode: 0 });
      expect(there.records!.length).toBe(0);
      const f = await RawKafkaClient.connect(cluster.brokers.get(other)!.address);
      try {
        let got = 0;
        for (let i = 0; i < 50 && got === 0; i++) {
          const r = (
            await f.request(
              Fetch,
              11,
              fetchReq('b-rack', 0, { rackId: `r${other}`, maxWaitMs: 200, minBytes: 1 }),
            )
          ).responses[0]!.partitions[0]!;
          if (r.errorCode === 0) got = decodeBatches(r.records!).length;
        }
        expect(got).toBe(1);
      } finally {
        f.close();
      }
    } finally {
      c.close();
    }
  });
});

describe('leader epochs', () => {
  it('Metadata reports the epoch that OffsetForLeaderEpoch and the stored batches carry', async () => {
    await admin.createTopic({ name: 'b-epoch', partitions: 1 });
    const c = await leaderClient('b-epoch');
    try {
      await produce(c, 'b-epoch', batch(['a', 'b', 'c']));
      const meta = await c.request(Metadata, 9, {
        topics: [{ name: 'b-epoch' }],
        allowAutoTopicCreation: false,
      });
      const epoch = meta.topics[0]!.partitions[0]!.leaderEpoch;
      expect(epoch).toBeGreaterThanOrEqual(0);
      const stored = (await c.request(Fetch, 11, fetchReq('b-epoch', 0))).responses[0]!
        .partitions[0]!;
      expect(decodeBatches(stored.records!)[0]!.header.partitionLeaderEpoch).toBe(epoch);
      const end = await c.request(OffsetForLeaderEpoch, 3, {
        replicaId: -1,
        topics: [
          {
            topic: 'b-epoch',
            partitions: [{ partition: 0, currentLeaderEpoch: epoch, leaderEpoch: epoch }],
          },
        ],
      });
      expect(end.topics[0]!.partitions[0]).toMatchObject({
        errorCode: 0,
        leaderEpoch: epoch,
        endOffset: 3,
      });
      const fenced = await c.request(OffsetForLeaderEpoch, 3, {
        replicaId: -1,
        topics: [
          {
            topic: 'b-epoch',
            partitions: [{ partition: 0, currentLeaderEpoch: epoch + 5, leaderEpoch: epoch }],
          },
        ],
      });
      expect(fenced.topics[0]!.partitions[0]!.errorCode).toBe(KafkaError.FENCED_LEADER_EPOCH);
    } finally {
      c.close();
    }
  });
});
