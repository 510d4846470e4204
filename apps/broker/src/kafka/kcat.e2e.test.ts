import { Admin, Producer } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from '../cluster.test-util.js';
import { kcatRefusal, readWithSdk, run, tool } from './client.test-util.js';

/**
 * kcat (Debian's, librdkafka 2.0.2) against real brokers, unmodified and with its defaults:
 * metadata, produce with keys and headers (also idempotent with acks=all), consume from the
 * beginning, the end, an offset and a time, offsets for times; and the same records through
 * the Strand SDK and CLI.
 */

const KCAT = '/usr/bin/kcat';
const kcat = tool(KCAT);
const registry = new ProcessRegistry();
let cluster: TopicCluster;
let admin: Admin;

interface KcatRecord {
  topic: string;
  partition: number;
  offset: number;
  ts: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

const kcatJson = (out: string): KcatRecord[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as KcatRecord);

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 2);
  admin = new Admin({ bootstrap: cluster.bootstrap });
});

afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

describe.skipIf(!kcat.present)('kcat', () => {
  it('produces keys and headers, idempotently with acks=all too, that the SDK reads intact', async () => {
    await admin.createTopic({ name: 'kc-in', partitions: 3, replicationFactor: 2 });
    const lines = Array.from({ length: 300 }, (_, i) => `key-${i % 17}:value-${i}`);
    const b = cluster.bootstrap[0]!;
    await run(KCAT, ['-P', '-b', b, '-t', 'kc-in', '-K:', '-H', 'origin=kcat', '-H', 'n=1'], {
      input: `${lines.slice(0, 150).join('\n')}\n`,
    });
    await run(
      KCAT,
      [
        '-P',
        '-b',
        b,
        '-t',
        'kc-in',
        '-K:',
        '-H',
        'origin=kcat',
        '-X',
        'enable.idempotence=true',
        '-X',
        'acks=all',
      ],
      { input: `${lines.slice(150).join('\n')}\n` },
    );
    const records = await readWithSdk(cluster.bootstrap, 'kc-in', 300);
    expect(records).toHaveLength(300);
    expect(records.map((r) => `${r.key}:${r.value}`).sort()).toEqual([...lines].sort());
    for (const r of records) {
      expect(r.headers.find((h) => h.key === 'origin')?.value?.toString()).toBe('kcat');
      expect(Math.abs(r.timestamp - Date.now())).toBeLessThan(120_000);
    }
    // Kafka's key partitioner and the SDK's agree: one key, one partition.
    const partitionOf = new Map<string, number>();
    for (const r of records) {
      const k = r.key!.toString();
      expect(partitionOf.get(k) ?? r.partition).toBe(r.partition);
      partitionOf.set(k, r.partition);
    }
  });

  it('consumes what the SDK produced from the beginning, an offset, a time and the end', async () => {
    await admin.createTopic({ name: 'kc-out', partitions: 1, replicationFactor: 1 });
    const producer = new Producer({ bootstrap: cluster.bootstrap, lingerMs: 1 });
    const t0 = 1_700_000_000_000;
    try {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          producer.send({
            topic: 'kc-out',
            key: `k${i}`,
            value: `v${i}`,
            headers: { i: String(i) },
            timestamp: t0 + i * 1000,
          }),
        ),
      );
    } finally {
      await producer.close();
    }
    const b = cluster.bootstrap[1]!;
    const consume = async (offset: string) =>
      kcatJson(
        await run(KCAT, ['-C', '-b', b, '-t', 'kc-out', '-p', '0', '-o', offset, '-e', '-J']),
      );
    const all = await consume('beginning');
    expect(all.map((r) => [r.offset, r.key, r.payload, r.ts, r.headers])).toEqual(
      Array.from({ length: 20 }, (_, i) => [i, `k${i}`, `v${i}`, t0 + i * 1000, ['i', String(i)]]),
    );
    expect((await consume('15')).map((r) => r.offset)).toEqual([15, 16, 17, 18, 19]);
    expect((await consume(`s@${t0 + 17_500}`)).map((r) => r.offset)).toEqual([18, 19]);
    expect(await consume('end')).toEqual([]);
    // Offsets for times: the first record at or after the time; past the end, the end (-1).
    const offsetFor = async (t: number) => run(KCAT, ['-Q', '-b', b, '-t', `kc-out:0:${t}`]);
    expect(await offsetFor(t0 + 4_000)).toContain('kc-out [0] offset 4');
    expect(await offsetFor(t0 + 3_500)).toContain('kc-out [0] offset 4');
    expect(await offsetFor(t0 + 99_000)).toContain('kc-out [0] offset -1');
  });

  it('lists brokers and auto-creates a topic a producer writes to', async () => {
    const b = cluster.bootstrap[0]!;
    await run(KCAT, ['-P', '-b', b, '-t', 'kc-auto'], { input: 'one\ntwo\n' });
    const described = await admin.describeTopic('kc-auto');
    expect(described.partitions).toHaveLength(1);
    const meta = JSON.parse(await run(KCAT, ['-L', '-J', '-b', b, '-t', 'kc-auto'])) as {
      brokers: { id: number }[];
      topics: { topic: string; partitions: { leader: number }[] }[];
    };
    expect(meta.brokers.map((x) => x.id).sort()).toEqual([1, 2]);
    expect(meta.topics[0]!.partitions[0]!.leader).toBe(described.partitions[0]!.leader);
    expect(
      (await readWithSdk(cluster.bootstrap, 'kc-auto', 2)).map((r) => r.value?.toString()),
    ).toEqual(['one', 'two']);
  });

  it('a TLS client on this plaintext listener fails its handshake at once', async () => {
    const err = await kcatRefusal([
      '-L',
      '-b',
      cluster.bootstrap[0]!,
      '-X',
      'security.protocol=SSL',
    ]);
    expect(err).toMatch(/SSL handshake failed: .*unexpected eof/);
  });
});
