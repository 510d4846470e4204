import net from 'node:net';
import { Admin, Consumer } from '@strand/client';
import { ApiVersions, encodeRequest, KafkaError, Metadata, Produce } from '@strand/kafka-protocol';
import { freePort, ProcessRegistry } from '@strand/testkit';
import { encodeBatch } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from '../cluster.test-util.js';
import { RawKafkaClient, run, tool } from './client.test-util.js';
import { kafkajs } from './kafkajs.test-util.js';

/**
 * Kafka clients on a port of their own (--kafka-listen), told to reach each broker at its
 * advertised Kafka address (--kafka-advertise, here a host name, not the address listened on),
 * topics not created by Metadata when auto.create.topics.enable is off, and clients that follow
 * a partition's leader when it moves.
 */

const KCAT = '/usr/bin/kcat';
const kcat = tool(KCAT);
const registry = new ProcessRegistry();
let cluster: TopicCluster;
const kafkaPort = new Map<number, number>();

beforeAll(async () => {
  for (const id of [1, 2]) kafkaPort.set(id, await freePort());
  cluster = await startTopicCluster(registry, 2, {
    brokerArgs: ['--auto-create-topics', 'false'],
    brokerArgsFor: (id) => [
      '--kafka-listen',
      `127.0.0.1:${kafkaPort.get(id)}`,
      '--kafka-advertise',
      `localhost:${kafkaPort.get(id)}`,
    ],
  });
});

afterAll(async () => {
  await registry.stopAll();
  cluster?.cleanup();
});

const kafkaAddress = (id: number) => `127.0.0.1:${kafkaPort.get(id)}`;

describe('advertised Kafka listeners', () => {
  it('Metadata names every broker at its advertised Kafka address; the gRPC port serves no Kafka', async () => {
    const c = await RawKafkaClient.connect(kafkaAddress(1));
    try {
      const m = await c.request(Metadata, 9, {
        topics: null,
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      expect(
        m.brokers
          .map((b) => ({ id: b.nodeId, host: b.host, port: b.port }))
          .sort((a, b) => a.id - b.id),
      ).toEqual([1, 2].map((id) => ({ id, host: 'localhost', port: kafkaPort.get(id) })));
    } finally {
      c.close();
    }
    // Kafka bytes on the gRPC port are not a gRPC connection: it is closed.
    const [host, port] = cluster.bootstrap[0]!.split(':');
    const wrong = net.connect(Number(port), host!);
    wrong.on('error', () => undefined);
    wrong.on('data', () => undefined); // grpc-js may answer with HTTP/2 frames before closing
    wrong.write(encodeRequest(ApiVersions, 0, { correlationId: 1, clientId: null }, {}));
    await new Promise((r) => wrong.on('close', r));
  });

  it.skipIf(!kcat.present)(
    'kcat, bootstrapped at one Kafka port, produces to the leader it was told of and reads back',
    async () => {
      const admin = new Admin({ bootstrap: cluster.bootstrap });
      try {
        await admin.createTopic({ name: 'adv', partitions: 2, replicationFactor: 1 });
        const leaders = (await admin.describeTopic('adv')).partitions.map((p) => p.leader);
        expect(new Set(leaders).size).toBe(2); // one partition on each broker
      } finally {
        await admin.close();
      }
      const b = kafkaAddress(1);
      await run(KCAT, ['-P', '-b', b, '-t', 'adv', '-K:'], { input: 'a:1\nb:2\nc:3\nd:4\n' });
      const out = await run(KCAT, ['-C', '-b', b, '-t', 'adv', '-e', '-f', '%k=%s\n']);
      expect(out.trim().split('\n').sort()).toEqual(['a=1', 'b=2', 'c=3', 'd=4']);
    },
  );
});

describe('auto.create.topics.enable=false', () => {
  it('Metadata for an unknown topic answers UNKNOWN_TOPIC_OR_PARTITION and creates nothing', async () => {
    const c = await RawKafkaClient.connect(kafkaAddress(2));
    try {
      const m = await c.request(Metadata, 9, {
        topics: [{ name: 'never-made' }],
        allowAutoTopicCreation: true,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      expect(m.topics[0]).toMatchObject({
        name: 'never-made',
        errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
      });
    } finally {
      c.close();
    }
    const admin = new Admin({ bootstrap: cluster.bootstrap });
    try {
      expect((await admin.listTopics()).map((t) => t.name)).not.toContain('never-made');
    } finally {
      await admin.close();
    }
  });
});

describe('a leader that moves', () => {
  it('a broker that does not lead answers NOT_LEADER_OR_FOLLOWER; KafkaJS refreshes and goes on', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap });
    const kafka = new kafkajs.Kafka({
      clientId: 'moving',
      brokers: [kafkaAddress(1)],
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await admin.createTopic({ name: 'moving', partitions: 1, replicationFactor: 1 });
      await admin.reassignPartition('moving', 0, [1]);
      const leaderIs = async (id: number) => {
        for (const until = Date.now() + 30_000; Date.now() < until; ) {
          const p = (await admin.describeTopic('moving')).partitions[0]!;
          if (p.leader === id && p.replicas.length === 1) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`broker ${id} does not lead moving-0`);
      };
      await leaderIs(1);
      await producer.connect();
      const send = (from: number) =>
        producer.send({
          topic: 'moving',
          acks: -1,
          messages: Array.from({ length: 50 }, (_, i) => ({ value: `v${from + i}` })),
        });
      await send(0);
      const other = await RawKafkaClient.connect(kafkaAddress(2));
      try {
        const r = await other.request(Produce, 7, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [
            {
              name: 'moving',
              partitionData: [{ index: 0, records: encodeBatch([{ value: 'x' }]) }],
            },
          ],
        });
        expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(
          KafkaError.NOT_LEADER_OR_FOLLOWER,
        );
      } finally {
        other.close();
      }
      await admin.reassignPartition('moving', 0, [2]);
      await leaderIs(2);
      await send(50); // to broker 1 first, which no longer leads
      const consumer = new Consumer({ bootstrap: cluster.bootstrap, maxWaitMs: 200 });
      const got: string[] = [];
      try {
        await consumer.assignTopic('moving', 'beginning');
        for (const until = Date.now() + 30_000; got.length < 100 && Date.now() < until; )
          for (const r of await consumer.poll(500)) got.push(r.value!.toString());
      } finally {
        await consumer.close();
      }
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => `v${i}`));
    } finally {
      await producer.disconnect();
      await admin.close();
    }
  }, 90_000);
});
