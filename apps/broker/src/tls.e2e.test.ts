import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { Admin, Consumer, KvClient, Producer } from '@strand/client';
import { makePki, type PkiFiles, writePki } from '@strand/security';
import { ProcessRegistry, tempDir } from '@strand/testkit';
import { kvService, TransportSecurityError } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// TLS on every listener: clients' ports (broker and coordinator), the coordinators' Raft
// port and node-to-node calls (follower fetch, broker → controller), all mutual between nodes.

const registry = new ProcessRegistry();
const dir = tempDir('strand-tls-');
let cluster: TopicCluster;
let files: PkiFiles;
let rogue: PkiFiles;
const tlsFlags = (f: PkiFiles, cn: string) => [
  '--tls-cert',
  f.cert(cn),
  '--tls-key',
  f.key(cn),
  '--tls-ca',
  f.ca,
];
const read = (p: string) => readFileSync(p);

beforeAll(async () => {
  files = writePki(join(dir.path, 'pki'), await makePki(['node-1', 'node-2', 'alice']));
  // Another CA, with certificates of the same names: a rogue node's.
  rogue = writePki(
    join(dir.path, 'rogue'),
    await makePki(['node-1', 'alice'], { caName: 'Rogue CA' }),
  );
  cluster = await startTopicCluster(registry, 2, {
    coordinators: 2,
    coordinatorArgs: tlsFlags(files, 'node-1'),
    brokerArgsFor: (id) => tlsFlags(files, `node-${id}`),
  });
});
afterAll(async () => {
  await registry.stopAll();
  cluster?.cleanup();
  dir.cleanup();
});

const caOnly = () => ({ ca: read(files.ca) });

describe('TLS on every listener', () => {
  it('clients with the CA produce and consume; followers replicate over mutual TLS', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap, tls: caOnly() });
    await admin.createTopic({ name: 'secure', partitions: 2, replicationFactor: 2 });
    const producer = new Producer({ bootstrap: cluster.bootstrap, tls: caOnly() });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => producer.send({ topic: 'secure', value: `v${i}` })),
    );
    await producer.close();
    const consumer = new Consumer({ bootstrap: cluster.bootstrap, tls: caOnly() });
    await consumer.assignTopic('secure', 'beginning');
    const seen: string[] = [];
    while (seen.length < 20) for (const r of await consumer.poll()) seen.push(String(r.value));
    await consumer.close();
    expect(seen.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort());
    // Both replicas in sync: followers fetched from their leaders over TLS.
    const deadline = Date.now() + 20_000;
    let isr: number[][] = [];
    while (Date.now() < deadline) {
      isr = (await admin.describeTopic('secure')).partitions.map((p) => p.isr);
      if (isr.every((x) => x.length === 2)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(isr.every((x) => x.length === 2)).toBe(true);
    await admin.close();
  });

  it('the KV store over TLS; a client certificate of the CA is accepted too', async () => {
    const kv = new KvClient({
      bootstrap: [cluster.coordinator.split(',')[0]!],
      tls: { ca: read(files.ca), cert: read(files.cert('alice')), key: read(files.key('alice')) },
    });
    await kv.put('tls/k', 'v');
    expect((await kv.get('tls/k'))?.value.toString()).toBe('v');
    kv.close();
  });

  it('a plaintext client is told the port needs TLS', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap, retries: 0 });
    const err = await admin.listTopics().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportSecurityError);
    expect(String((err as Error).message)).toMatch(/requires TLS/);
    await admin.close();
    const kv = new KvClient({ bootstrap: [cluster.coordinator.split(',')[0]!], retries: 1 });
    await expect(kv.get('tls/k')).rejects.toThrow(/requires TLS/);
    kv.close();
  });

  it('a client that trusts another CA is told the certificate is not its CA’s', async () => {
    const admin = new Admin({
      bootstrap: cluster.bootstrap,
      retries: 0,
      tls: { ca: read(rogue.ca) },
    });
    const err = await admin.listTopics().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportSecurityError);
    expect(String((err as Error).message)).toMatch(/not signed by the CA this client trusts/);
    await admin.close();
  });

  it('a client certificate of another CA is refused, and the refusal logged', async () => {
    const admin = new Admin({
      bootstrap: [cluster.bootstrap[0]!],
      retries: 0,
      tls: { ca: read(files.ca), cert: read(rogue.cert('alice')), key: read(rogue.key('alice')) },
    });
    await expect(admin.listTopics()).rejects.toThrow();
    await admin.close();
    await cluster.brokers.get(1)!.proc.waitFor(/not signed by the cluster's CA/);
  });

  it('a rogue node cannot reach the Raft port: another CA’s certificate, or none, is refused', async () => {
    const peer = cluster.coordinators.get(1)!;
    const Raft = kvService('Raft');
    /** The status of a Raft stream opened with `creds` (and no claims about who we are). */
    const streamStatus = (creds: grpc.ChannelCredentials) => {
      const client = new Raft(peer.peer, creds, { 'grpc.ssl_target_name_override': 'localhost' });
      return new Promise<number>((resolve) => {
        const stream = (
          client as unknown as {
            Stream: (
              md: grpc.Metadata,
              cb: (e: grpc.ServiceError | null) => void,
            ) => grpc.ClientWritableStream<unknown>;
          }
        ).Stream(new grpc.Metadata(), (e) => resolve(e?.code ?? 0));
        stream.write({ data: Buffer.from('x') });
        stream.end();
      }).finally(() => client.close());
    };
    // The cluster's own certificate gets through TLS (the Raft service then refuses the
    // stream, which names no cluster): so the refusals below are the TLS layer's.
    const own = grpc.credentials.createSsl(
      read(files.ca),
      read(files.key('node-2')),
      read(files.cert('node-2')),
    );
    expect(await streamStatus(own)).toBe(grpc.status.FAILED_PRECONDITION);
    for (const creds of [
      grpc.credentials.createSsl(
        read(files.ca),
        read(rogue.key('node-1')),
        read(rogue.cert('node-1')),
      ),
      grpc.credentials.createSsl(read(files.ca)),
      grpc.credentials.createInsecure(),
    ])
      expect(await streamStatus(creds)).toBe(grpc.status.UNAVAILABLE);
    const onPeer = (what: string) => new RegExp(`${what} .*address=${peer.peer}`);
    await peer.proc.waitFor(onPeer('TLS handshake failed'));
    await peer.proc.waitFor(onPeer('refused a plaintext client'));
  });

  it('a TLS client on a plaintext port is told the port does not speak TLS', async () => {
    const plain = await startTopicCluster(registry, 0);
    try {
      const kv = new KvClient({ bootstrap: [plain.coordinator], retries: 1, tls: caOnly() });
      await expect(kv.get('x')).rejects.toThrow(/does not speak TLS here/);
      kv.close();
      await plain.coordinators
        .get(1)!
        .proc.waitFor(
          /refused a TLS client on a plaintext listener listener=client remote=\S+ address=/,
        );
    } finally {
      await plain.coordinators.get(1)!.proc.terminate();
      plain.cleanup();
    }
  });

  it('a new certificate is taken on SIGHUP, and on a change of its file, without a restart', async () => {
    const broker = cluster.brokers.get(2)!;
    const serial = () =>
      new Promise<string>((resolve, reject) => {
        const [host, port] = broker.address.split(':');
        const s = tls.connect(
          { host, port: Number(port), ca: read(files.ca), servername: 'localhost' },
          () => {
            resolve(s.getPeerCertificate().serialNumber);
            s.destroy();
          },
        );
        s.on('error', reject);
      });
    const before = await serial();
    const renew = async () => {
      const next = await makePki(['node-2'], {
        ca: { cert: read(files.ca).toString(), key: read(files.caKey).toString() },
      });
      writeFileSync(files.cert('node-2'), next.certs['node-2']!.cert);
      writeFileSync(files.key('node-2'), next.certs['node-2']!.key);
    };
    await renew();
    process.kill(broker.proc.pid, 'SIGHUP');
    await broker.proc.waitFor(/TLS certificate reloaded why=SIGHUP cn=/);
    const afterSighup = await serial();
    expect(afterSighup).not.toBe(before);
    await renew();
    await broker.proc.waitFor(/TLS certificate reloaded why="a changed file" cn=/);
    expect(await serial()).not.toBe(afterSighup);
    // And the cluster goes on: produce through the renewed broker.
    const producer = new Producer({ bootstrap: [broker.address], tls: caOnly() });
    await producer.send({ topic: 'secure', value: 'after renewal' });
    await producer.close();
  });
});
