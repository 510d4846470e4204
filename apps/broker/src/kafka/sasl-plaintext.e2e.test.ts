import { Admin } from '@strand/client';
import { freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowAll, startSecuredCluster, type TopicCluster } from '../cluster.test-util.js';
import { kcatRefusal, run, tool } from './client.test-util.js';
import { kafkajs } from './kafkajs.test-util.js';

/**
 * SASL_PLAINTEXT on a Kafka port of its own (the client port stays TLS): kcat (librdkafka
 * 2.0.2) and KafkaJS 2.2.4 produce and consume as a SCRAM user without TLS; PLAIN, which sends
 * the password itself, is not offered there and both clients are refused it.
 */

const KCAT = '/usr/bin/kcat';
const kcat = tool(KCAT);
const { Kafka, logLevel } = kafkajs;
const registry = new ProcessRegistry();
const dir = tempDir('strand-kafka-sasl-plaintext-');
const PASSWORD = 'correct horse battery staple';
const TOPIC = 'sasl-plain-port';
let cluster: TopicCluster;
let kafkaAddress: string;

beforeAll(async () => {
  const port = await freePort();
  kafkaAddress = `127.0.0.1:${port}`;
  let adminTls: Awaited<ReturnType<typeof startSecuredCluster>>['adminTls'];
  ({ cluster, adminTls } = await startSecuredCluster(registry, 1, dir.path, {
    brokerArgs: ['--kafka-listen', kafkaAddress, '--kafka-security-protocol', 'SASL_PLAINTEXT'],
    acls: allowAll('User:*'),
  }));
  const admin = new Admin({ bootstrap: cluster.bootstrap, tls: adminTls });
  await admin.createUser('carol', PASSWORD, { mechanism: 'SCRAM-SHA-256' });
  await admin.createTopic({ name: TOPIC, partitions: 1, replicationFactor: 1 });
  await admin.close();
});
afterAll(async () => {
  await registry.stopAll();
  cluster?.cleanup();
  dir.cleanup();
});

const kcatSasl = (mechanism: string) => [
  ...['-b', kafkaAddress, '-X', 'security.protocol=SASL_PLAINTEXT'],
  ...['-X', `sasl.mechanisms=${mechanism}`, '-X', 'sasl.username=carol'],
  ...['-X', `sasl.password=${PASSWORD}`],
];

const js = (mechanism: 'scram-sha-256' | 'plain') =>
  new Kafka({
    clientId: 'sasl-plaintext-e2e',
    brokers: [kafkaAddress],
    sasl: { mechanism, username: 'carol', password: PASSWORD } as never,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });

describe.skipIf(!kcat.present)('kcat over SASL_PLAINTEXT', () => {
  it('produces and consumes by SCRAM-SHA-256; PLAIN is refused without TLS', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => `kcat-${i}`);
    await run(KCAT, ['-P', '-t', TOPIC, ...kcatSasl('SCRAM-SHA-256')], {
      input: `${lines.join('\n')}\n`,
    });
    const out = await run(KCAT, [
      ...['-C', '-t', TOPIC, '-o', 'beginning', '-c', '10', '-e'],
      ...kcatSasl('SCRAM-SHA-256'),
    ]);
    expect(out.split('\n').filter(Boolean)).toEqual(lines);
    const plain = await kcatRefusal(['-L', ...kcatSasl('PLAIN')]);
    expect(plain).toMatch(
      /Unsupported SASL mechanism: broker's supported mechanisms: SCRAM-SHA-256,SCRAM-SHA-512/,
    );
  });
});

describe('KafkaJS over SASL_PLAINTEXT', () => {
  it('produces and reads by SCRAM-SHA-256; PLAIN is refused (UNSUPPORTED_SASL_MECHANISM)', async () => {
    const producer = js('scram-sha-256').producer();
    await producer.connect();
    await producer.send({ topic: TOPIC, messages: [{ value: 'from kafkajs', partition: 0 }] });
    await producer.disconnect();
    const ka = js('scram-sha-256').admin();
    await ka.connect();
    const offsets = await ka.fetchTopicOffsets(TOPIC);
    await ka.disconnect();
    expect(Number(offsets[0]?.high)).toBeGreaterThan(0);
    const refused = js('plain').producer();
    const err = await refused.connect().catch((e: unknown) => e);
    expect(String(err)).toMatch(/does not support the requested SASL mechanism/);
  });
});
