import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin } from '@strand/client';
import { makePki, type PkiFiles, writePki } from '@strand/security';
import { ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allowAll,
  type SecuredCluster,
  startSecuredCluster,
  type TopicCluster,
} from '../cluster.test-util.js';
import { kcatRefusal, run, tool } from './client.test-util.js';
import { kafkajs, kafkajsRead } from './kafkajs.test-util.js';

/**
 * The Kafka listener as Kafka's SSL listener: TLS with the node's certificate, a client
 * certificate of the cluster's CA names the client (User:<CN>), and under --authentication
 * required a client without one is not served. Plaintext clients fail clearly, at once.
 */

const KCAT = '/usr/bin/kcat';
const kcat = tool(KCAT);
const { Kafka, logLevel } = kafkajs;
const registry = new ProcessRegistry();
const dir = tempDir('strand-kafka-ssl-');
let cluster: TopicCluster;
let files: PkiFiles;
let rogue: PkiFiles;
let broker: string;

beforeAll(async () => {
  let adminTls: SecuredCluster['adminTls'];
  ({ cluster, files, adminTls } = await startSecuredCluster(registry, 1, dir.path, {
    brokerArgs: ['--kafka-security-protocol', 'SSL', '--log-level', 'debug'],
    clients: ['alice'],
    // The certificate's CN is the principal ACLs name (authorization comes with authentication).
    acls: allowAll('User:alice'),
  }));
  rogue = writePki(join(dir.path, 'rogue'), await makePki(['alice'], { caName: 'Rogue CA' }));
  broker = cluster.bootstrap[0]!;
  const admin = new Admin({ bootstrap: cluster.bootstrap, tls: adminTls });
  await admin.createTopic({ name: 'ssl', partitions: 1, replicationFactor: 1 });
  await admin.createTopic({ name: 'ssl-js', partitions: 1, replicationFactor: 1 });
  await admin.close();
});
afterAll(async () => {
  await registry.stopAll();
  cluster?.cleanup();
  dir.cleanup();
});

const kcatSsl = (pki: PkiFiles, cn?: string) => [
  ...['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${files.ca}`],
  ...(cn
    ? ['-X', `ssl.certificate.location=${pki.cert(cn)}`, '-X', `ssl.key.location=${pki.key(cn)}`]
    : []),
];

describe.skipIf(!kcat.present)('kcat over SSL', () => {
  it("produces and consumes with a client certificate, whose CN is the connection's principal", async () => {
    const lines = Array.from({ length: 10 }, (_, i) => `kcat-${i}`);
    await run(KCAT, ['-P', '-b', broker, '-t', 'ssl', ...kcatSsl(files, 'alice')], {
      input: `${lines.join('\n')}\n`,
    });
    const out = await run(KCAT, [
      ...['-C', '-b', broker, '-t', 'ssl', '-o', 'beginning', '-e', '-c', '10'],
      ...kcatSsl(files, 'alice'),
    ]);
    expect(out.split('\n').filter(Boolean)).toEqual(lines);
    await cluster.brokers
      .get(1)!
      .proc.waitFor(
        /kafka: authenticated connection=kafka-\d+ remote=127\.0\.0\.1 principal=User:alice how="client certificate"/,
      );
  });

  it('without a client certificate it is not served (authentication is required), nor with another CA’s', async () => {
    // The broker hangs up right after the handshake; its log says why.
    const log = cluster.brokers.get(1)!.proc;
    for (const args of [kcatSsl(files), kcatSsl(rogue, 'alice')])
      expect(await kcatRefusal(['-L', '-b', broker, ...args])).toMatch(
        /Receive failed: .*unexpected eof/,
      );
    await log.waitFor(
      /kafka: refused a connection remote=\S*127\.0\.0\.1 reason=.*requires authentication/,
    );
    await log.waitFor(/a client certificate not signed by the cluster's CA/);
  });

  it('without TLS it fails at once, saying it may be talking to an SSL listener', async () => {
    expect(await kcatRefusal(['-L', '-b', broker])).toMatch(/connecting to a SSL listener\?/);
  });
});

describe('KafkaJS over SSL', () => {
  it('produces and reads with a client certificate', async () => {
    const kafka = new Kafka({
      clientId: 'ssl-e2e',
      brokers: [broker],
      ssl: {
        ca: [readFileSync(files.ca, 'utf8')],
        cert: readFileSync(files.cert('alice'), 'utf8'),
        key: readFileSync(files.key('alice'), 'utf8'),
      },
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'ssl-js', messages: [{ value: 'js-1' }, { value: 'js-2' }] });
    await producer.disconnect();
    const got = await kafkajsRead(kafka, 'ssl-js', 0, 2);
    expect(got.map((m) => String(m.value))).toEqual(['js-1', 'js-2']);
  });

  it('without TLS, connecting fails at once', async () => {
    const kafka = new Kafka({
      clientId: 'ssl-e2e',
      brokers: [broker],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const t0 = Date.now();
    const err = await kafka
      .producer()
      .connect()
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/Closed connection/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
