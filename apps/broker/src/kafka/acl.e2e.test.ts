import { readFileSync } from 'node:fs';
import { Admin, Producer } from '@strand/client';
import type { PkiFiles } from '@strand/security';
import { eventually, ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SecuredCluster,
  startSecuredCluster,
  type TopicCluster,
} from '../cluster.test-util.js';
import { kafkajs, kafkajsRead } from './kafkajs.test-util.js';

/**
 * The same ACLs on the Kafka listener: KafkaJS 2.2.4 (unmodified, SASL_SSL as a SCRAM user)
 * gets Kafka's codes — TOPIC_AUTHORIZATION_FAILED per partition, GROUP_AUTHORIZATION_FAILED,
 * CLUSTER_AUTHORIZATION_FAILED — and Metadata leaves out the topics it may not describe.
 */

const { Kafka, logLevel } = kafkajs;
const registry = new ProcessRegistry();
const dir = tempDir('strand-kafka-acl-');
const PASSWORD = 'a long enough password';
let cluster: TopicCluster;
let files: PkiFiles;
let admin: Admin;

beforeAll(async () => {
  let tls: SecuredCluster['adminTls'];
  ({ cluster, files, adminTls: tls } = await startSecuredCluster(registry, 1, dir.path));
  admin = new Admin({ bootstrap: cluster.bootstrap, tls });
  await admin.createUser('reader', PASSWORD);
  for (const name of ['orders.a', 'orders.secret', 'payments'])
    await admin.createTopic({ name, partitions: 1, replicationFactor: 1 });
  const producer = new Producer({ bootstrap: cluster.bootstrap, tls });
  for (const topic of ['orders.a', 'orders.secret', 'payments'])
    await producer.send({ topic, value: `in ${topic}`, partition: 0 });
  await producer.close();
  await admin.createAcls([
    ...['read', 'describe'].map((operation) => ({
      resourceType: 'topic' as const,
      name: 'orders.',
      patternType: 'prefixed' as const,
      principal: 'User:reader',
      operation: operation as 'read',
      permission: 'allow' as const,
    })),
    {
      resourceType: 'topic',
      name: 'orders.secret',
      principal: 'User:reader',
      operation: 'read',
      permission: 'deny',
    },
  ]);
});
afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
  dir.cleanup();
});

const reader = () =>
  new Kafka({
    clientId: 'acl-e2e',
    brokers: cluster.bootstrap,
    ssl: { ca: [readFileSync(files.ca, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: 'reader', password: PASSWORD },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });

const typeOf = (err: unknown) => (err as { type?: string }).type;

describe('ACLs on the Kafka listener (KafkaJS over SASL_SSL)', () => {
  it('READ on prefix orders. reads orders.a; payments is not in its metadata; a deny wins', async () => {
    const kafka = reader();
    const got = await kafkajsRead(kafka, 'orders.a', 0, 1);
    expect(got.map((m) => String(m.value))).toEqual(['in orders.a']);
    const ka = kafka.admin();
    await ka.connect();
    const { topics } = await ka.fetchTopicMetadata();
    expect(topics.map((t) => t.name).sort()).toEqual(['orders.a', 'orders.secret']);
    const named = await ka.fetchTopicMetadata({ topics: ['payments'] }).catch((e: unknown) => e);
    expect(typeOf(named)).toBe('TOPIC_AUTHORIZATION_FAILED');
    // Offsets of a topic it may describe; none of one it may not.
    expect((await ka.fetchTopicOffsets('orders.a'))[0]?.high).toBe('1');
    expect(typeOf(await ka.fetchTopicOffsets('payments').catch((e: unknown) => e))).toBe(
      'TOPIC_AUTHORIZATION_FAILED',
    );
    // Nor may it create or delete topics.
    const created = await ka
      .createTopics({ topics: [{ topic: 'orders.new' }] })
      .catch((e: unknown) => e);
    expect(JSON.stringify(created)).toMatch(/TOPIC_AUTHORIZATION_FAILED/);
    await ka.disconnect();
    expect((await admin.listTopics()).map((t) => t.name)).not.toContain('orders.new');
    const denied = await kafkajsRead(kafka, 'orders.secret', 0, 1, 5000).catch((e: unknown) => e);
    expect(JSON.stringify(denied, Object.getOwnPropertyNames(denied))).toMatch(
      /TOPIC_AUTHORIZATION_FAILED|not authorized/i,
    );
    // The refusal is logged with who, what and which resource.
    await cluster.brokers
      .get(1)!
      .proc.waitFor(/principal=User:reader .*User:reader may not read topic \\"orders.secret\\"/);
  });

  it('produce needs WRITE: the producer is refused, and nothing is written', async () => {
    const producer = reader().producer({ idempotent: false });
    await producer.connect();
    const err = await producer
      .send({ topic: 'orders.a', messages: [{ value: 'no' }] })
      .catch((e: unknown) => e);
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).toMatch(
      /TOPIC_AUTHORIZATION_FAILED|not authorized/i,
    );
    await producer.disconnect();
    const offsets = await admin.listOffsets('orders.a', 'latest');
    expect(offsets[0]?.offset).toBe(1);
  });

  it('a consumer group needs DESCRIBE on the group to find it, READ to join and commit', async () => {
    const kafka = reader();
    const tryJoin = async () => {
      const consumer = kafka.consumer({ groupId: 'readers', retry: { retries: 0 } });
      await consumer.connect();
      // Joined, or crashed (KafkaJS's consumer runs in the background).
      const err = await new Promise<unknown>((resolve) => {
        consumer.on(consumer.events.CRASH, (e) => resolve(e.payload.error));
        consumer.on(consumer.events.GROUP_JOIN, () => resolve(undefined));
        consumer
          .subscribe({ topics: ['orders.a'], fromBeginning: true })
          .then(() => consumer.run({ eachMessage: async () => {} }))
          .catch(resolve);
      });
      await consumer.disconnect();
      return err;
    };
    const group = (operation: 'describe' | 'read') => ({
      resourceType: 'group' as const,
      name: 'readers',
      principal: 'User:reader',
      operation,
      permission: 'allow' as const,
    });
    // KafkaJS reports a FindCoordinator refused with GROUP_AUTHORIZATION_FAILED as not found.
    expect((await tryJoin()) as Error).toMatchObject({ name: 'KafkaJSGroupCoordinatorNotFound' });
    const log = cluster.brokers.get(1)!.proc;
    await log.waitFor(/principal=User:reader .*User:reader may not describe group \\"readers\\"/);
    await admin.createAcls([group('describe')]);
    const joinErr = await eventually('JoinGroup refused', async () => {
      const e = await tryJoin();
      return typeOf(e) === 'GROUP_AUTHORIZATION_FAILED' ? e : undefined;
    });
    expect(typeOf(joinErr)).toBe('GROUP_AUTHORIZATION_FAILED');
    // The refused join made no group.
    await expect(admin.describeGroup('readers')).rejects.toThrow(/unknown group/);
    await admin.createAcls([group('read')]);
    const again = kafka.consumer({ groupId: 'readers' });
    await again.connect();
    await again.subscribe({ topics: ['orders.a'], fromBeginning: true });
    const seen: string[] = [];
    await again.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
    await eventually('the group to read orders.a', async () =>
      seen.length > 0 ? true : undefined,
    );
    await again.disconnect();
    expect(seen).toEqual(['in orders.a']);
    // The commit went through: the SDK sees the group's offset.
    await eventually('the committed offset', async () => {
      const d = await admin.describeGroup('readers');
      return d.offsets.some((o) => o.committed === 1) ? true : undefined;
    });
  });
});
