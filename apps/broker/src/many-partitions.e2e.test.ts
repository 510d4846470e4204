import { readdirSync } from 'node:fs';
import { Admin, Producer } from '@strand/client';
import { adminUrlOf, ProcessRegistry, scrapeMetrics } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// Thousands of partitions on one broker, far more than the descriptors it may keep open: it
// takes every record, stays registered, stops on SIGTERM and comes back after a clean stop
// and after kill -9 with everything it acknowledged. (10,000 partitions: `pnpm bench
// partitions`.)

const TOPICS = 2;
const PARTITIONS = 1000; // per topic (the most a topic may have)
const MAX_OPEN_FILES = 64;

const registry = new ProcessRegistry();
let cluster: TopicCluster;
const names = Array.from({ length: TOPICS }, (_, t) => `many-${t}`);

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 1, {
    brokerArgs: ['--max-open-files', String(MAX_OPEN_FILES)],
    brokerReadyTimeoutMs: 120_000,
    admin: true,
  });
}, 60_000);

afterAll(async () => {
  await registry.stopAll(30_000);
  cluster?.cleanup();
});

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** One record to every partition; resolves once all are acknowledged (acks=all). */
async function produceToEach(round: number): Promise<void> {
  const producer = new Producer({ bootstrap: cluster.bootstrap, lingerMs: 20 });
  try {
    await Promise.all(
      names.flatMap((topic) =>
        Array.from({ length: PARTITIONS }, (_, partition) =>
          producer.send({ topic, partition, value: `${topic}/${partition}/${round}` }),
        ),
      ),
    );
  } finally {
    await producer.close();
  }
}

async function endOffsets(): Promise<number[]> {
  const admin = new Admin({ bootstrap: cluster.bootstrap });
  try {
    const out: number[] = [];
    for (const topic of names)
      for (const o of await admin.listOffsets(topic, 'latest')) out.push(o.offset);
    return out;
  } finally {
    await admin.close();
  }
}

describe(`${TOPICS * PARTITIONS} partitions on one broker with ${MAX_OPEN_FILES} open files`, () => {
  it('takes a record on every partition, restarts cleanly and after kill -9, and loses nothing', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap });
    for (const name of names)
      await admin.createTopic({ name, partitions: PARTITIONS, replicationFactor: 1 });
    await admin.close();

    await produceToEach(0);
    const broker = cluster.brokers.get(1)!.proc;
    expect(openFds(broker.pid)).toBeLessThan(MAX_OPEN_FILES + 100);
    await produceToEach(1);
    expect(await endOffsets()).toEqual(Array(TOPICS * PARTITIONS).fill(2));

    // A scrape stays cheap: its gauges come from one pass over the partitions, per topic.
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await scrapeMetrics(adminUrlOf(broker));
      times.push(s.ms);
      expect(s.value('strand_broker_leader_partitions')).toBe(TOPICS * PARTITIONS);
      for (const topic of names) {
        expect(s.value('strand_broker_records_in_total', { topic })).toBe(2 * PARTITIONS);
        expect(s.value('strand_log_segments', { topic })).toBe(PARTITIONS);
      }
      // Nothing is labelled by partition.
      expect(s.samples.some((x) => 'partition' in x.labels)).toBe(false);
    }
    times.sort((a, b) => a - b);
    console.log(
      `scrape of /metrics on a broker with ${TOPICS * PARTITIONS} partitions: median ${times[2]!.toFixed(1)} ms (${times.map((t) => t.toFixed(1)).join(', ')} ms)`,
    );

    // SIGTERM in this state stops it, cleanly, and it comes back with everything.
    expect(await broker.terminate(60_000)).toBe(0);
    const clean = await cluster.startBroker(1);
    await produceToEach(2);
    expect(await endOffsets()).toEqual(Array(TOPICS * PARTITIONS).fill(3));

    await clean.kill9();
    const crashed = await cluster.startBroker(1);
    await produceToEach(3);
    expect(await endOffsets()).toEqual(Array(TOPICS * PARTITIONS).fill(4));
    expect(openFds(crashed.pid)).toBeLessThan(MAX_OPEN_FILES + 100);
    // Never fenced for being too busy to heartbeat: one registration per start.
    const described = new Admin({ bootstrap: cluster.bootstrap });
    const { brokers } = await described.describeCluster();
    await described.close();
    expect(brokers).toMatchObject([{ id: 1, epoch: 3, fenced: false }]);
  }, 240_000);
});
