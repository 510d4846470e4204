import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Consumer, InvalidRecordError, Producer } from '@strand/client';
import { PartitionLog } from '@strand/log';
import { eventually, ProcessRegistry } from '@strand/testkit';
import { decodeBatches } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';
import { run, tool } from './kafka/client.test-util.js';
import { kafkajs } from './kafka/kafkajs.test-util.js';

const KCAT = '/usr/bin/kcat';
const kcat = tool(KCAT);

/**
 * Compacted topics through real processes: three replicas each cleaning their own log (one
 * killed in the middle of a clean), a consumer group, KafkaJS and kcat reading the result from the
 * beginning, keyless records refused on both listeners, and a topic switched from delete to
 * compact and back. Small segments and a short cleaner backoff keep it quick.
 */

const registry = new ProcessRegistry();
let cluster: TopicCluster;
let admin: Admin;
/** Polls `check` until it holds: generous deadlines, for a loaded machine. */
const until = <T>(
  what: string,
  check: () => Promise<T | false | undefined> | T | false | undefined,
  everyMs = 100,
) => eventually(what, check, 60_000, everyMs);

const COMPACT = {
  'cleanup.policy': 'compact',
  'segment.bytes': '1024',
  'min.cleanable.dirty.ratio': '0.01',
};
const KEYS = 40;
const ROUNDS = 12;

/** The latest value of each key as produced: round r of key k is `k<k>-<r>`; some keys deleted. */
const model = new Map<string, string | null>();

const dirOf = (broker: number, topic: string) => join(cluster.logDir(broker), `${topic}-0`);

/** A replica's cleaned-to offset, from its cleaner checkpoint (0 before the first clean). */
function cleanedTo(broker: number, topic: string): number {
  try {
    const text = readFileSync(join(dirOf(broker, topic), 'cleaner-checkpoint'), 'utf8');
    return (JSON.parse(text.split('\n')[0]!) as { cleanedTo: number }).cleanedTo;
  } catch {
    return 0;
  }
}

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 3, {
    coordinatorArgs: ['--broker-session-timeout-ms', '3000', '--broker-heartbeat-ms', '300'],
    brokerArgs: ['--log-cleaner-backoff-ms', '100', '--replica-lag-time-max-ms', '3000'],
    // Broker 3 cleans slowly, so it can be killed in the middle of a clean.
    brokerArgsFor: (id) => (id === 3 ? ['--log-cleaner-io-max-bytes-per-second', '30000'] : []),
  });
  admin = new Admin({ bootstrap: cluster.bootstrap });
});

afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

describe('compacted topics through real processes', () => {
  it('every replica keeps the latest record of every key, one broker killed mid-clean', async () => {
    await admin.createTopic({
      name: 'table',
      partitions: 1,
      replicationFactor: 3,
      configs: COMPACT,
    });
    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', lingerMs: 5 });
    try {
      for (let r = 0; r < ROUNDS; r++) {
        const round = Array.from({ length: KEYS }, (_, k) => {
          // In the last round every fifth key is deleted (a tombstone).
          const value = r === ROUNDS - 1 && k % 5 === 0 ? null : `k${k}-${r}-${'v'.repeat(60)}`;
          model.set(`k${k}`, value);
          return { topic: 'table', partition: 0, key: `k${k}`, value };
        });
        await Promise.all(round.map((rec) => producer.send(rec)));
      }
      // A record without a key is refused on a compacted topic, and nothing is written.
      const [before] = await admin.listOffsets('table', 'latest');
      await expect(
        producer.send({ topic: 'table', partition: 0, value: 'no key' }),
      ).rejects.toBeInstanceOf(InvalidRecordError);
      const [after] = await admin.listOffsets('table', 'latest');
      expect(after!.offset).toBe(before!.offset);
    } finally {
      await producer.close();
    }
    const end = (await admin.listOffsets('table', 'latest'))[0]!.offset;
    expect(end).toBe(KEYS * ROUNDS);

    // Broker 3 is killed while a cleaned segment is being written beside the originals.
    const dir3 = dirOf(3, 'table');
    await until(
      'broker 3 in the middle of a clean',
      () => readdirSync(dir3).some((n) => n.endsWith('.cleaned')),
      10,
    );
    await cluster.brokers.get(3)!.proc.kill9();
    await cluster.startBroker(3);

    // Every replica cleans its own log, to near its end.
    for (const id of [1, 2, 3])
      await until(`broker ${id} cleaned`, () => cleanedTo(id, 'table') >= end * 0.8);

    // What `strand topic describe` shows of the leader's cleaner (the CLI's e2e tests show it printed).
    const [offsets] = await admin.listOffsets('table', 'latest');
    expect(offsets!.cleaner).toBeDefined();
    expect(offsets!.cleaner!.dirtyRatio).toBeLessThan(0.5);
  }, 120_000);

  it('a consumer group reading from the beginning gets the latest value of every key', async () => {
    const consumer = new Consumer({
      bootstrap: cluster.bootstrap,
      groupId: 'table-readers',
      autoOffsetReset: 'earliest',
      maxWaitMs: 200,
    });
    consumer.subscribe(['table']);
    const seen = new Map<string, string | null>();
    let records = 0;
    const end = KEYS * ROUNDS;
    let last = -1;
    const deadline = Date.now() + 30_000;
    try {
      while (last < end - 1 && Date.now() < deadline) {
        for (const r of await consumer.poll(500)) {
          seen.set(r.key!.toString(), r.value === null ? null : r.value.toString());
          records++;
          last = r.offset;
        }
      }
    } finally {
      await consumer.close();
    }
    expect(seen).toEqual(model);
    expect(records).toBeLessThan(end / 2); // compaction is visible to consumers
  }, 120_000);

  it('KafkaJS’s consumer reads the same latest values, and its keyless produce is refused', async () => {
    const kafka = new kafkajs.Kafka({
      clientId: 'compaction-e2e',
      brokers: cluster.bootstrap,
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const consumer = kafka.consumer({ groupId: 'table-kafkajs' });
    const seen = new Map<string, string | null>();
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'table', fromBeginning: true });
      let last = -1;
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.set(
            message.key!.toString(),
            message.value === null ? null : message.value.toString(),
          );
          last = Number(message.offset);
        },
      });
      await until('KafkaJS read to the end', () => last >= KEYS * ROUNDS - 1);
    } finally {
      await consumer.disconnect();
    }
    expect(seen).toEqual(model);

    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      const err = await producer.send({ topic: 'table', messages: [{ value: 'no key' }] }).then(
        () => undefined,
        (e: unknown) => e as { type?: string; message: string },
      );
      expect(err?.type ?? err?.message).toMatch(/INVALID_RECORD|validation/);
      await producer.send({ topic: 'table', messages: [{ key: 'k1', value: 'from kafkajs' }] });
    } finally {
      await producer.disconnect();
    }
    model.set('k1', 'from kafkajs');
  }, 120_000);

  it.skipIf(!kcat.present)(
    'kcat reads the latest value of every key, and from inside a removed range gets the next survivor',
    async () => {
      const b = cluster.bootstrap[0]!;
      const consume = async (...args: string[]) =>
        (await run(KCAT, ['-C', '-b', b, '-t', 'table', '-p', '0', '-e', '-J', ...args]))
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { offset: number; key: string; payload: string | null });
      const all = await consume('-o', 'beginning');
      const seen = new Map(all.map((m) => [m.key, m.payload] as const));
      expect(seen).toEqual(model);
      const offsets = all.map((m) => m.offset);
      expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
      // From inside a removed range a read starts at the next survivor. The cleaner may still
      // be removing older values meanwhile, but never the latest value of a key.
      const latest = Math.min(...new Map(all.map((m) => [m.key, m.offset] as const)).values());
      const kept = new Set(offsets);
      const removed = Array.from({ length: latest }, (_, i) => latest - 1 - i).find(
        (o) => !kept.has(o),
      );
      expect(removed).toBeDefined();
      const [next] = await consume('-o', String(removed), '-c', '1');
      expect(next!.offset).toBeGreaterThan(removed!);
      expect(next!.offset).toBeLessThanOrEqual(latest);
      expect(kept.has(next!.offset)).toBe(true);
    },
    60_000,
  );

  it('each replica’s log holds the same surviving keys (read from its files after a clean stop)', async () => {
    const replicas = new Map<number, Map<string, string | null>>();
    for (const id of [1, 2, 3]) {
      await cluster.brokers.get(id)!.proc.terminate();
      const log = await PartitionLog.open(dirOf(id, 'table'), { compact: true });
      const latest = new Map<string, string | null>();
      const cleanedKeys: string[] = [];
      const to = cleanedTo(id, 'table');
      let offset = log.logStartOffset;
      while (offset < log.logEndOffset) {
        const batches = decodeBatches((await log.read(offset, 1 << 20)).records);
        for (const b of batches) {
          for (const r of b.records) {
            const key = r.key!.toString();
            latest.set(key, r.value === null ? null : r.value.toString());
            if (r.offset < to) cleanedKeys.push(key);
          }
          offset = b.header.baseOffset + b.header.lastOffsetDelta + 1;
        }
      }
      await log.close();
      expect(new Set(cleanedKeys).size, `broker ${id}: one record per key below ${to}`).toBe(
        cleanedKeys.length,
      );
      replicas.set(id, latest);
    }
    expect(replicas.get(1)).toEqual(model);
    expect(replicas.get(2)).toEqual(model);
    expect(replicas.get(3)).toEqual(model);
    for (const id of [1, 2, 3]) await cluster.startBroker(id);
  }, 120_000);

  it('cleanup.policy goes from delete to compact and back', async () => {
    await admin.createTopic({
      name: 'flip',
      partitions: 1,
      replicationFactor: 1,
      configs: { 'segment.bytes': '1024', 'min.cleanable.dirty.ratio': '0.01' },
    });
    const producer = new Producer({ bootstrap: cluster.bootstrap, lingerMs: 5 });
    try {
      await producer.send({ topic: 'flip', partition: 0, value: 'keyless is fine under delete' });
      for (let r = 0; r < 10; r++)
        await Promise.all(
          Array.from({ length: 10 }, (_, k) =>
            producer.send({
              topic: 'flip',
              partition: 0,
              key: `f${k}`,
              value: `${r}${'x'.repeat(80)}`,
            }),
          ),
        );
      const sizeBefore = (await admin.listOffsets('flip', 'latest'))[0]!.sizeBytes;
      expect((await admin.listOffsets('flip', 'latest'))[0]!.cleaner).toBeUndefined();
      await admin.alterTopic('flip', { set: { 'cleanup.policy': 'compact' } });
      const cleaned = await until('flip cleaned', async () => {
        const [o] = await admin.listOffsets('flip', 'latest');
        return o!.cleaner && o!.cleaner.cleanedBytes > 0 ? o : undefined;
      });
      expect(cleaned.sizeBytes).toBeLessThan(sizeBefore);
      await expect(
        producer.send({ topic: 'flip', partition: 0, value: 'keyless' }),
      ).rejects.toBeInstanceOf(InvalidRecordError);
      await admin.alterTopic('flip', { set: { 'cleanup.policy': 'delete' } });
      await until('flip takes keyless records again', () =>
        producer.send({ topic: 'flip', partition: 0, value: 'keyless again' }).then(() => true),
      );
      // The old keyless record survived compaction (only keyed records are compacted).
      const consumer = new Consumer({ bootstrap: cluster.bootstrap, maxWaitMs: 200 });
      consumer.assign([{ topic: 'flip', partition: 0, offset: 0 }]);
      const values: string[] = [];
      const deadline = Date.now() + 20_000;
      while (!values.includes('keyless again') && Date.now() < deadline)
        for (const r of await consumer.poll(300)) values.push(r.value!.toString());
      await consumer.close();
      expect(values[0]).toBe('keyless is fine under delete');
      expect(values.length).toBeLessThan(50);
    } finally {
      await producer.close();
    }
  }, 120_000);
});
