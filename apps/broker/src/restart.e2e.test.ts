import * as grpc from '@grpc/grpc-js';
import { Admin, Consumer, type ConsumerRecord, Producer } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { brokerService, encodeBatch, stampProducer } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// What a broker keeps across a restart besides its logs: the high watermark, and idempotent
// producers' state (from a clean shutdown's snapshot, else from a checkpoint and the log).

const registry = new ProcessRegistry();
let cluster: TopicCluster;
const COUNT = 200;

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 3, {
    // Nobody is fenced or dropped from the ISR while the test runs.
    coordinatorArgs: ['--broker-session-timeout-ms', '60000'],
    brokerArgs: ['--replica-lag-time-max-ms', '60000'],
  });
});

afterAll(async () => {
  await registry.stopAll();
  cluster?.cleanup();
});

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
interface ProduceAnswer {
  partitions: { base_offset: number; error: { code: string } | null }[];
}

describe('what survives a broker restart', () => {
  it('idempotent producers: a retried batch is recognised after a clean stop (from the snapshot) and after kill -9 (from the log)', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap });
    await admin.createTopic({ name: 'idem', partitions: 1, replicationFactor: 1 });
    const owner = (await admin.describeTopic('idem')).partitions[0]!.leader;
    await admin.close();
    const broker = cluster.brokers.get(owner)!;
    const produce = (records: Buffer) => {
      const c = new (brokerService('Broker'))(
        broker.address,
        grpc.credentials.createInsecure(),
      ) as AnyClient;
      return new Promise<ProduceAnswer['partitions'][number]>((resolve, reject) =>
        c.Produce!(
          { acks: 1, partitions: [{ topic: 'idem', partition: 0, records }] },
          (err: unknown, res: ProduceAnswer) => (err ? reject(err) : resolve(res.partitions[0]!)),
        ),
      ).finally(() => c.close());
    };
    const batch = (seq: number, values: string[]) => {
      const b = encodeBatch(values.map((value) => ({ value })));
      stampProducer(b, 4242, 0, seq);
      return b;
    };
    await produce(batch(0, ['x']));
    const first = await produce(batch(1, ['a', 'b', 'c']));
    expect(first.error).toBeNull();

    await broker.proc.terminate();
    const clean = await cluster.startBroker(owner);
    // From the snapshot, silently; a crash leaves none, and the recovery from the log is logged.
    const recovered = /recovered the producer state from the log .*topic=idem partition=0/;
    expect(clean.lines.join('\n')).not.toMatch(recovered);
    expect(clean.records.some((r) => String(r.msg).startsWith('recovered the log'))).toBe(false);
    expect(await produce(batch(1, ['a', 'b', 'c']))).toMatchObject({
      base_offset: first.base_offset,
      error: null,
    });
    expect((await produce(batch(9, ['gap']))).error?.code).toBe('OUT_OF_ORDER_SEQUENCE');

    // Written after the clean start, so the files are not closed cleanly when it dies.
    const last = await produce(batch(4, ['d']));
    expect(last.error).toBeNull();
    await clean.kill9();
    const crashed = await cluster.startBroker(owner);
    expect(crashed.lines.join('\n')).toMatch(recovered);
    expect(
      crashed.records.find(
        (r) => r.topic === 'idem' && String(r.msg).startsWith('recovered the producer state'),
      ),
    ).toMatchObject({ app: 'broker', level: 30, partition: 0, ms: expect.any(Number) });
    // The log itself was not closed cleanly: its recovery is logged, with its time.
    expect(
      crashed.records.find(
        (r) =>
          r.topic === 'idem' && String(r.msg).startsWith('recovered the log after an unclean stop'),
      ),
    ).toMatchObject({ partition: 0, logEndOffset: expect.any(Number), ms: expect.any(Number) });
    expect(await produce(batch(1, ['a', 'b', 'c']))).toMatchObject({
      base_offset: first.base_offset,
      error: null,
    });
    // The last batch before the crash, retried: recognised from the log too.
    expect(await produce(batch(4, ['d']))).toMatchObject({
      base_offset: last.base_offset,
      error: null,
    });
  });

  it('a leader restarted while its followers are down serves every committed record at once', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap });
    await admin.createTopic({ name: 'hw', partitions: 1, replicationFactor: 3 });
    const producer = new Producer({ bootstrap: cluster.bootstrap });
    await Promise.all(
      Array.from({ length: COUNT }, (_, i) => producer.send({ topic: 'hw', value: `v${i}` })),
    );
    await producer.close();
    const leader = (await admin.describeTopic('hw')).partitions[0]!.leader;
    await admin.close();
    // Past one checkpoint interval, then every broker dies at once.
    await new Promise((r) => setTimeout(r, 1500));
    await Promise.all([...cluster.brokers.values()].map((b) => b.proc.kill9()));

    await cluster.startBroker(leader);
    const alone = [cluster.brokers.get(leader)!.address];
    const admin2 = new Admin({ bootstrap: alone });
    const [latest] = await admin2.listOffsets('hw', 'latest');
    expect(latest!.offset).toBe(COUNT);
    expect(latest!.highWatermark).toBe(COUNT);
    await admin2.close();

    const consumer = new Consumer({ bootstrap: alone, maxWaitMs: 200 });
    consumer.assign([{ topic: 'hw', partition: 0, offset: 0 }]);
    const got: ConsumerRecord[] = [];
    const deadline = Date.now() + 5000;
    while (got.length < COUNT && Date.now() < deadline) got.push(...(await consumer.poll(200)));
    await consumer.close();
    expect(got.map((r) => r.value?.toString())).toEqual(
      Array.from({ length: COUNT }, (_, i) => `v${i}`),
    );
  });
});
