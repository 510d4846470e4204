import { Admin, Consumer, type ConsumerRecord, Producer } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// A restarted leader whose followers are still down: without its saved high watermark it
// would serve nothing, and answer "latest" with 0, until the followers return or leave the ISR.

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

describe('the high watermark survives a restart', () => {
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
