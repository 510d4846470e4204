import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScramClient } from '@strand/auth';
import { Admin } from '@strand/client';
import { ApiVersions, KafkaError, Metadata, SaslHandshake } from '@strand/kafka-protocol';
import type { PkiFiles } from '@strand/security';
import { adminUrlOf, eventually, ProcessRegistry, scrapeMetrics, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allowAll,
  type SecuredCluster,
  startSecuredCluster,
  type TopicCluster,
} from '../cluster.test-util.js';
import { kcatRefusal, RawKafkaClient, rawScram, run, tool } from './client.test-util.js';
import { kafkajs, kafkajsRead } from './kafkajs.test-util.js';

/**
 * SASL_SSL on the Kafka listener (what a broker with TLS and --authentication required
 * serves): kcat (librdkafka 2.0.2) and KafkaJS 2.2.4, unmodified, produce and consume as users
 * made at run time by SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN; wrong passwords, plaintext
 * clients, requests before authenticating and deleted users are refused, each clearly.
 */

const KCAT = '/usr/bin/kcat';
const kcat = tool(KCAT);
const { Kafka, logLevel } = kafkajs;
const registry = new ProcessRegistry();
const dir = tempDir('strand-kafka-sasl-');
const PASSWORD = 'correct horse battery staple';
const SESSION_MS = 30_000;
/** The bearer token the brokers' /metrics asks for (authentication is required). */
const METRICS_TOKEN = 'sasl-suite-metrics-token';
let cluster: TopicCluster;
let files: PkiFiles;
let admin: Admin;
let broker: string;

beforeAll(async () => {
  let adminTls: SecuredCluster['adminTls'];
  // A short session, so that KafkaJS re-authenticates within the test (librdkafka 2.0.2 would
  // be disconnected at its end: none of its runs here lasts that long).
  // Authorization comes with authentication: users may use every topic and group.
  writeFileSync(join(dir.path, 'metrics-token'), `${METRICS_TOKEN}\n`);
  ({ cluster, files, adminTls } = await startSecuredCluster(registry, 2, dir.path, {
    brokerArgs: ['--kafka-max-reauth-ms', String(SESSION_MS), '--log-level', 'debug'],
    nodeArgs: ['--metrics-token-file', join(dir.path, 'metrics-token')],
    admin: true,
    acls: allowAll('User:*'),
  }));
  broker = cluster.bootstrap[0]!;
  admin = new Admin({ bootstrap: cluster.bootstrap, tls: adminTls });
  await admin.createUser('alice', PASSWORD);
  await admin.changePassword('alice', PASSWORD, { mechanism: 'SCRAM-SHA-256' });
  await admin.createUser('bob', PASSWORD, { mechanism: 'SCRAM-SHA-256' });
  await admin.createTopic({ name: 'sasl-kcat', partitions: 2, replicationFactor: 2 });
  await admin.createTopic({ name: 'sasl-js', partitions: 1, replicationFactor: 2 });
  // Every broker has the users once alice authenticates on each.
  for (const b of cluster.bootstrap) await eventually(`alice on ${b}`, () => scramOk(b, 'alice'));
});
afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
  dir.cleanup();
});

const caTls = () => ({ ca: readFileSync(files.ca), servername: 'localhost' });
const raw = (address = broker, localAddress?: string) =>
  RawKafkaClient.connect(address, { tls: caTls(), ...(localAddress ? { localAddress } : {}) });

const scram = (c: RawKafkaClient, user: string, password = PASSWORD, version = 2) =>
  rawScram(c, user, password, version);

async function scramOk(address: string, user: string): Promise<true | undefined> {
  const c = await raw(address);
  try {
    return (await scram(c, user)).errorCode === 0 ? true : undefined;
  } finally {
    c.close();
  }
}

type Mechanism = 'SCRAM-SHA-512' | 'SCRAM-SHA-256' | 'PLAIN';
const kcatSasl = (mechanism: Mechanism, user: string, password = PASSWORD) => [
  ...['-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${files.ca}`],
  ...['-X', `sasl.mechanisms=${mechanism}`, '-X', `sasl.username=${user}`],
  ...['-X', `sasl.password=${password}`],
];

describe.skipIf(!kcat.present)('kcat over SASL_SSL', () => {
  it('produces and consumes as a created user, by SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN', async () => {
    const runs: [Mechanism, string][] = [
      ['SCRAM-SHA-512', 'alice'],
      ['SCRAM-SHA-256', 'bob'],
      ['PLAIN', 'alice'],
    ];
    for (const [mechanism, user] of runs) {
      const lines = Array.from({ length: 20 }, (_, i) => `${mechanism}-${i}`);
      await run(KCAT, ['-P', '-b', broker, '-t', 'sasl-kcat', ...kcatSasl(mechanism, user)], {
        input: `${lines.join('\n')}\n`,
      });
    }
    const out = await run(KCAT, [
      ...['-C', '-b', cluster.bootstrap[1]!, '-t', 'sasl-kcat', '-o', 'beginning', '-e'],
      ...kcatSasl('SCRAM-SHA-256', 'alice'),
    ]);
    const got = out.split('\n').filter(Boolean);
    expect(got).toHaveLength(60);
    for (const m of ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'])
      expect(got.filter((l) => l.startsWith(`${m}-`))).toHaveLength(20);
  });

  it('a wrong password fails at once with the broker’s reason, not a timeout', async () => {
    const err = await kcatRefusal([
      '-L',
      '-b',
      broker,
      ...kcatSasl('SCRAM-SHA-512', 'alice', 'wrong'),
    ]);
    expect(err).toMatch(
      /SASL authentication error: authentication failed: unknown user or wrong password/,
    );
  });

  it('a client without TLS on the SASL_SSL port fails, and says the broker hung up', async () => {
    const plaintext = ['-X', 'security.protocol=SASL_PLAINTEXT'];
    const err = await kcatRefusal([
      '-L',
      '-b',
      broker,
      ...kcatSasl('SCRAM-SHA-512', 'alice'),
      ...plaintext,
    ]);
    expect(err).toMatch(/Disconnected while requesting ApiVersion.*connecting to a SSL listener\?/);
  });
});

describe('KafkaJS over SASL_SSL', () => {
  const js = (
    mechanism: 'scram-sha-256' | 'scram-sha-512' | 'plain',
    username: string,
    password = PASSWORD,
    brokers = cluster.bootstrap,
  ) =>
    new Kafka({
      clientId: 'sasl-e2e',
      brokers,
      ssl: { ca: [readFileSync(files.ca, 'utf8')] },
      sasl: { mechanism, username, password } as never,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });

  it('produces and reads as a created user, by scram-sha-256, scram-sha-512 and plain', async () => {
    const runs = [
      ['scram-sha-256', 'bob'],
      ['scram-sha-512', 'alice'],
      ['plain', 'alice'],
    ] as const;
    for (const [mechanism, user] of runs) {
      const producer = js(mechanism, user).producer();
      await producer.connect();
      await producer.send({
        topic: 'sasl-js',
        messages: Array.from({ length: 5 }, (_, i) => ({ value: `${mechanism}-${i}` })),
      });
      await producer.disconnect();
    }
    const got = await kafkajsRead(js('scram-sha-512', 'alice'), 'sasl-js', 0, 15);
    expect(got.map((m) => String(m.value))).toEqual(
      runs.flatMap(([m]) => Array.from({ length: 5 }, (_, i) => `${m}-${i}`)),
    );
  });

  it('a wrong password or an unknown user is a SASL authentication error with the reason', async () => {
    for (const [user, password] of [
      ['alice', 'wrong'],
      ['mallory', PASSWORD],
    ] as const) {
      const producer = js('scram-sha-512', user, password, [broker]).producer();
      const err = await producer.connect().catch((e: unknown) => e);
      expect((err as Error).name).toBe('KafkaJSSASLAuthenticationError');
      expect((err as Error).message).toMatch(/unknown user or wrong password/);
    }
    const log = cluster.brokers.get(1)!.proc;
    await log.waitFor(
      /kafka: authentication failed user=mallory mechanism=SCRAM-SHA-512 remote=\S+ reason=.*unknown user \\"mallory\\"/,
    );
    expect(log.output()).not.toContain(PASSWORD);
  });

  it('re-authenticates (KIP-368) on the same connection before its session ends', async () => {
    const kafka = new Kafka({
      clientId: 'sasl-e2e',
      brokers: [broker],
      ssl: { ca: [readFileSync(files.ca, 'utf8')] },
      sasl: { mechanism: 'scram-sha-512', username: 'alice', password: PASSWORD },
      logLevel: logLevel.NOTHING,
      // Re-authenticate once less than this is left: a second into the session.
      reauthenticationThreshold: SESSION_MS - 1000,
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'sasl-js', messages: [{ value: 'before' }] });
    await new Promise((r) => setTimeout(r, 1500));
    await producer.send({ topic: 'sasl-js', messages: [{ value: 'after' }] });
    await producer.disconnect();
    // On the partition's leader, whichever broker that is.
    const reauthenticated =
      /kafka: re-authenticated connection=kafka-\d+ remote=127\.0\.0\.1 principal=User:alice/;
    await Promise.any([...cluster.brokers.values()].map((b) => b.proc.waitFor(reauthenticated)));
  });

  it('without TLS, connecting fails at once', async () => {
    const kafka = new Kafka({
      clientId: 'sasl-e2e',
      brokers: [broker],
      sasl: { mechanism: 'scram-sha-512', username: 'alice', password: PASSWORD },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 20_000,
    });
    const producer = kafka.producer();
    const t0 = Date.now();
    const err = await producer.connect().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/Closed connection|ECONNRESET|socket hang up/i);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

// kafka-python 2.0.2 authenticates the old way: SaslHandshake v0, then raw SASL tokens.
const PYTHON = '/usr/bin/python3';
const python = tool(PYTHON);
const PY_SCRIPT = `
import sys
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
bootstrap, ca, mechanism, user, password, topic = sys.argv[1:7]
sasl = dict(security_protocol='SASL_SSL', ssl_cafile=ca, sasl_mechanism=mechanism,
            sasl_plain_username=user, sasl_plain_password=password)
p = KafkaProducer(bootstrap_servers=bootstrap, acks='all', **sasl)
for i in range(10):
    p.send(topic, value=b'py-%d' % i, partition=0)
p.flush()
p.close()
c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=10000, **sasl)
tp = TopicPartition(topic, 0)
c.assign([tp])
c.seek_to_beginning(tp)
for n, m in enumerate(c, 1):
    print(m.value.decode())
    if n == 10:
        break
c.close()
`;

describe.skipIf(!python.present)('kafka-python over SASL_SSL', () => {
  it('produces and consumes as a created user by SCRAM-SHA-256 and PLAIN (SaslHandshake v0, raw tokens)', async () => {
    for (const [mechanism, topic] of [
      ['SCRAM-SHA-256', 'sasl-py-scram'],
      ['PLAIN', 'sasl-py-plain'],
    ] as const) {
      await admin.createTopic({ name: topic, partitions: 1, replicationFactor: 2 });
      const args = [broker, files.ca, mechanism, 'alice', PASSWORD, topic];
      const out = await run(PYTHON, ['-c', PY_SCRIPT, ...args], { timeoutMs: 60_000 });
      expect(out.split('\n').filter(Boolean)).toEqual(
        Array.from({ length: 10 }, (_, i) => `py-${i}`),
      );
      await cluster.brokers
        .get(1)!
        .proc.waitFor(new RegExp(`principal=User:alice how="${mechanism} after SaslHandshake v0"`));
    }
  });
});

describe('the SASL exchange, byte by byte', () => {
  it('only ApiVersions and SASL before authenticating: Metadata closes the connection', async () => {
    const c = await raw();
    const versions = await c.request(ApiVersions, 3, {
      clientSoftwareName: 'raw',
      clientSoftwareVersion: '1',
    });
    expect(versions.apiKeys).toContainEqual({ apiKey: 17, minVersion: 0, maxVersion: 1 });
    expect(versions.apiKeys).toContainEqual({ apiKey: 36, minVersion: 0, maxVersion: 2 });
    void c.request(Metadata, 4, { topics: null, allowAutoTopicCreation: false });
    await c.closed;
    // An unsupported mechanism: the ones offered, then the end.
    const d = await raw();
    const hs = await d.request(SaslHandshake, 1, { mechanism: 'GSSAPI' });
    expect(hs).toEqual({
      errorCode: KafkaError.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN'],
    });
    await d.closed;
  });

  it('SaslHandshake v0: raw tokens framed by their length, then requests as the user', async () => {
    const c = await raw();
    expect((await c.request(SaslHandshake, 0, { mechanism: 'SCRAM-SHA-256' })).errorCode).toBe(0);
    const client = new ScramClient('SCRAM-SHA-256', 'bob', PASSWORD);
    const serverFirst = await c.rawToken(Buffer.from(client.first()));
    client.verify(await c.rawToken(Buffer.from(client.final(serverFirst))));
    const md = await c.request(Metadata, 4, {
      topics: [{ name: 'sasl-js' }],
      allowAutoTopicCreation: false,
    });
    expect(md.topics[0]?.errorCode).toBe(0);
    c.close();
  });

  it("a deleted user's connections end", async () => {
    await admin.createUser('carol', PASSWORD);
    const c = await eventually('carol on the broker', async () => {
      const x = await raw();
      const last = await scram(x, 'carol');
      if (last.errorCode === 0) {
        expect(Number(last.sessionLifetimeMs)).toBeGreaterThan(SESSION_MS - 5000);
        return x;
      }
      x.close();
      return undefined;
    });
    await admin.deleteUser('carol');
    await c.closed;
    await cluster.brokers
      .get(1)!
      .proc.waitFor(
        /kafka: closing a connection connection=kafka-\d+ .*user \\"carol\\" was deleted/,
      );
  });

  it('failures from one address are rate-limited: past ten, even the right password is refused there', async () => {
    for (let i = 0; i < 10; i++) {
      const c = await raw(broker, '127.0.0.2');
      expect((await scram(c, 'alice', 'guess', 1)).errorCode).toBe(
        KafkaError.SASL_AUTHENTICATION_FAILED,
      );
      await c.closed;
    }
    const c = await raw(broker, '127.0.0.2');
    const refused = await scram(c, 'alice', PASSWORD, 1);
    expect(refused.errorMessage).toMatch(/too many failed authentications from 127\.0\.0\.2/);
    // Other addresses are not held back.
    expect(await scramOk(broker, 'alice')).toBe(true);
    // Failures show on /metrics, and the requests refused before authenticating.
    const m = await scrapeMetrics(adminUrlOf(cluster.brokers.get(1)!.proc), {
      ca: readFileSync(files.ca),
      token: METRICS_TOKEN,
    });
    const errors = 'strand_kafka_request_errors_total';
    const failed = { api: 'SaslAuthenticate', code: 'SASL_AUTHENTICATION_FAILED' };
    expect(m.sum(errors, failed)).toBeGreaterThanOrEqual(11);
    expect(m.sum(errors, { api: 'Metadata', code: 'CONNECTION_CLOSED' })).toBeGreaterThanOrEqual(1);
    expect(m.sum(errors, { api: 'SaslHandshake', code: 'UNSUPPORTED_SASL_MECHANISM' })).toBe(1);
  });
});
