import { Admin, Producer } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from '../cluster.test-util.js';
import { readWithSdk } from './client.test-util.js';
import { kafkajs, kafkajsRead, registerCodecs } from './kafkajs.test-util.js';

/**
 * KafkaJS 2.2.4, unmodified, against real brokers: its admin client, its idempotent and plain
 * producers with every acks setting and codec, and its fetch path; each checked through the
 * Strand SDK as well (the same topics, the same records).
 */

const { Kafka, CompressionTypes, logLevel } = kafkajs;
const registry = new ProcessRegistry();
let cluster: TopicCluster;
let admin: Admin;
let kafka: InstanceType<typeof Kafka>;

beforeAll(async () => {
  registerCodecs();
  cluster = await startTopicCluster(registry, 2);
  admin = new Admin({ bootstrap: cluster.bootstrap });
  kafka = new Kafka({
    clientId: 'kafkajs-e2e',
    brokers: cluster.bootstrap,
    logLevel: logLevel.NOTHING,
  });
});

afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

describe('KafkaJS admin', () => {
  it('creates, describes, grows and deletes topics that the SDK sees as the same topics', async () => {
    const a = kafka.admin();
    await a.connect();
    try {
      expect(
        await a.createTopics({
          topics: [
            {
              topic: 'js-admin',
              numPartitions: 2,
              replicationFactor: 2,
              configEntries: [{ name: 'retention.ms', value: '3600000' }],
            },
          ],
        }),
      ).toBe(true);
      const sdk = await admin.describeTopic('js-admin');
      expect(sdk.partitions).toHaveLength(2);
      expect(sdk.configs['retention.ms']).toBe('3600000');

      const { topics } = await a.fetchTopicMetadata({ topics: ['js-admin'] });
      expect(
        topics[0]!.partitions
          .map((p) => ({ partitionId: p.partitionId, leader: p.leader, replicas: p.replicas }))
          .sort((x, y) => x.partitionId - y.partitionId),
      ).toEqual(
        sdk.partitions.map((p) => ({
          partitionId: p.partition,
          leader: p.leader,
          replicas: p.replicas,
        })),
      );

      const configs = await a.describeConfigs({
        resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: 'js-admin' }],
        includeSynonyms: false,
      });
      const entries = configs.resources[0]!.configEntries;
      expect(entries.find((e) => e.configName === 'retention.ms')).toMatchObject({
        configValue: '3600000',
        isDefault: false,
      });
      expect(entries.find((e) => e.configName === 'retention.bytes')).toMatchObject({
        configValue: '-1',
        isDefault: true,
      });

      await a.createPartitions({ topicPartitions: [{ topic: 'js-admin', count: 5 }] });
      expect((await admin.describeTopic('js-admin')).partitions).toHaveLength(5);
      await expect(
        a.createPartitions({ topicPartitions: [{ topic: 'js-admin', count: 3 }] }),
      ).rejects.toThrow();

      // A topic the SDK made is one KafkaJS sees, offsets included.
      await admin.createTopic({ name: 'js-sdk-made', partitions: 1 });
      const producer = new Producer({ bootstrap: cluster.bootstrap });
      await producer.sendBatch(
        Array.from({ length: 7 }, (_, i) => ({ topic: 'js-sdk-made', value: `v${i}` })),
      );
      await producer.close();
      expect(await a.fetchTopicOffsets('js-sdk-made')).toEqual([
        expect.objectContaining({ partition: 0, offset: '7', high: '7', low: '0' }),
      ]);

      await a.deleteTopics({ topics: ['js-admin', 'js-sdk-made'] });
      expect((await admin.listTopics()).map((t) => t.name)).not.toContain('js-admin');
      expect(await a.listTopics()).not.toContain('js-sdk-made');
    } finally {
      await a.disconnect();
    }
  });
});

describe('KafkaJS producer', () => {
  it.each([
    { acks: -1, idempotent: true, compression: CompressionTypes.None },
    { acks: -1, idempotent: true, compression: CompressionTypes.GZIP },
    { acks: 1, idempotent: false, compression: CompressionTypes.Snappy },
    { acks: 0, idempotent: false, compression: CompressionTypes.LZ4 },
  ])(
    'acks $acks, idempotent $idempotent, codec $compression: the SDK reads keys, headers and timestamps intact',
    async ({ acks, idempotent, compression }) => {
      const topic = `js-produce-${acks}-${compression}`;
      await admin.createTopic({ name: topic, partitions: 1, replicationFactor: 2 });
      const producer = kafka.producer({
        idempotent,
        maxInFlightRequests: idempotent ? 1 : 5,
        allowAutoTopicCreation: false,
      });
      await producer.connect();
      const t0 = 1_700_000_000_000;
      try {
        for (let batch = 0; batch < 4; batch++)
          await producer.send({
            topic,
            acks,
            compression,
            messages: Array.from({ length: 25 }, (_, i) => ({
              key: `k${batch * 25 + i}`,
              value: `v${batch * 25 + i}`,
              timestamp: String(t0 + batch * 25 + i),
              headers: { n: String(batch * 25 + i) },
            })),
          });
      } finally {
        await producer.disconnect();
      }
      const records = await readWithSdk(cluster.bootstrap, topic, 100);
      expect(
        records.map((r) => [
          r.offset,
          r.key?.toString(),
          r.value?.toString(),
          r.timestamp,
          r.headers.map((h) => [h.key, h.value?.toString()]),
        ]),
      ).toEqual(
        Array.from({ length: 100 }, (_, i) => [i, `k${i}`, `v${i}`, t0 + i, [['n', String(i)]]]),
      );
      // And KafkaJS's own fetch path reads them back the same.
      const read = await kafkajsRead(kafka, topic, 0, 100);
      expect(read.map((m) => [m.key?.toString(), m.value?.toString(), m.timestamp])).toEqual(
        Array.from({ length: 100 }, (_, i) => [`k${i}`, `v${i}`, String(t0 + i)]),
      );
    },
  );

  it('an idempotent producer gets its ids from the controller: two producers, two ids', async () => {
    const topic = 'js-idempotent';
    await admin.createTopic({ name: topic, partitions: 1 });
    const p1 = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const p2 = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await p1.connect();
    await p2.connect();
    try {
      const [a] = await p1.send({ topic, acks: -1, messages: [{ value: 'a' }] });
      const [b] = await p2.send({ topic, acks: -1, messages: [{ value: 'b' }] });
      expect([a!.baseOffset, b!.baseOffset]).toEqual(['0', '1']);
    } finally {
      await p1.disconnect();
      await p2.disconnect();
    }
    const records = await readWithSdk(cluster.bootstrap, topic, 2);
    expect(records.map((r) => r.value?.toString())).toEqual(['a', 'b']);
  });
});

describe('KafkaJS fetch', () => {
  it('reads what the SDK produced: whole batches, skipping records before the offset', async () => {
    const topic = 'js-fetch';
    await admin.createTopic({ name: topic, partitions: 1 });
    const producer = new Producer({ bootstrap: cluster.bootstrap, lingerMs: 20 });
    await producer.sendBatch(
      Array.from({ length: 500 }, (_, i) => ({
        topic,
        key: `k${i}`,
        value: `v${i}`,
        headers: { i: String(i) },
        timestamp: 1_600_000_000_000 + i,
      })),
    );
    await producer.close();
    const read = await kafkajsRead(kafka, topic, 0, 500);
    expect(
      read.map((m) => [
        Number(m.offset),
        m.key?.toString(),
        m.value?.toString(),
        m.timestamp,
        m.headers.i?.toString(),
      ]),
    ).toEqual(
      Array.from({ length: 500 }, (_, i) => [
        i,
        `k${i}`,
        `v${i}`,
        String(1_600_000_000_000 + i),
        String(i),
      ]),
    );
  });
});
