import { Admin, Consumer, type ConsumerRecord, Producer } from '@strand/client';
import { eventually, ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// Controlled shutdown and rolling restarts, under acks=all load. The sessions and the ISR lag
// are long (60 s) and the producer's delivery timeout shorter (20 s): a broker that stopped
// without handing its leaderships over would fail produces, not merely slow them.

const registry = new ProcessRegistry();
const TOPIC = 'rolling';
const PARTITIONS = 6;
let cluster: TopicCluster;
let admin: Admin;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const fullIsr = () =>
  eventually('every partition with its full ISR', async () => {
    const { partitions } = await admin.describeTopic(TOPIC);
    return partitions.every((p) => p.isr.length === 3 && p.leader > 0) ? partitions : undefined;
  });

/** acks=all sends, one at a time round the partitions, until stopped. */
function load(tag: string) {
  const producer = new Producer({
    bootstrap: cluster.bootstrap,
    acks: 'all',
    lingerMs: 0,
    deliveryTimeoutMs: 20_000,
    requestTimeoutMs: 5_000,
  });
  const acked = new Map<number, string[]>();
  const failures: string[] = [];
  let stopped = false;
  let longestStallMs = 0;
  const done = (async () => {
    let last = performance.now();
    for (let i = 0; !stopped; i++) {
      const partition = i % PARTITIONS;
      const value = `${tag}-${i}`;
      try {
        await producer.send({ topic: TOPIC, partition, value });
        acked.set(partition, [...(acked.get(partition) ?? []), value]);
      } catch (err) {
        failures.push(`${value} at ${new Date().toISOString()}: ${(err as Error).message}`);
      }
      const now = performance.now();
      longestStallMs = Math.max(longestStallMs, now - last);
      last = now;
    }
    await producer.close();
  })();
  return {
    acked,
    failures,
    stats: () => ({ longestStallMs: Math.round(longestStallMs) }),
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

async function readPartition(partition: number, count: number): Promise<string[]> {
  const consumer = new Consumer({ bootstrap: cluster.bootstrap, maxWaitMs: 200 });
  consumer.assign([{ topic: TOPIC, partition, offset: 0 }]);
  const out: ConsumerRecord[] = [];
  const deadline = Date.now() + 20_000;
  while (out.length < count && Date.now() < deadline) out.push(...(await consumer.poll(200)));
  await consumer.close();
  return out.map((r) => r.value!.toString());
}

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 3, {
    coordinators: 3,
    coordinatorArgs: ['--broker-session-timeout-ms', '60000', '--broker-heartbeat-ms', '300'],
    brokerArgs: ['--replica-lag-time-max-ms', '60000'],
  });
  admin = new Admin({ bootstrap: cluster.bootstrap });
  await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
  await fullIsr();
}, 120_000);

afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

/** With the nodes' last lines when it fails: what each did around the failed produce. */
function expectNoFailures(failures: string[]): void {
  if (failures.length > 0)
    for (const node of [...cluster.brokers.values(), ...cluster.coordinators.values()])
      console.log(node.proc.lines.slice(-80).join('\n'));
  expect(failures).toEqual([]);
}

const shutdownRecord = (records: Record<string, unknown>[]) =>
  records.find((r) => String(r.msg).startsWith('controlled shutdown'));

describe('controlled shutdown and rolling restarts', () => {
  it('a broker stopped with SIGTERM hands its leaderships over and leaves every ISR first', async () => {
    const before = (await admin.describeTopic(TOPIC)).partitions;
    const led = before.filter((p) => p.leader === 2).map((p) => p.partition);
    expect(led.length).toBeGreaterThan(0);
    const traffic = load('one');
    await sleep(500);
    const proc = cluster.brokers.get(2)!.proc;
    expect(await proc.terminate(30_000)).toBe(0);
    const record = shutdownRecord(proc.records);
    expect(record?.msg).toBe('controlled shutdown: leaderships moved, out of every ISR');
    expect(record?.leaderships).toBe(led.length);

    // Long before its session would have expired: no partition is led by it or waits for it.
    const after = (await admin.describeTopic(TOPIC)).partitions;
    for (const p of after) {
      expect(p.leader).not.toBe(2);
      expect(p.leader).toBeGreaterThan(0);
      expect(p.isr).not.toContain(2);
    }
    for (const partition of led) {
      const was = before.find((p) => p.partition === partition)!;
      expect(after.find((p) => p.partition === partition)!.leaderEpoch).toBeGreaterThan(
        was.leaderEpoch,
      );
    }
    await sleep(1_000);
    await traffic.stop();
    expectNoFailures(traffic.failures);

    // It comes back, catches up, and the preferred leaders return to it.
    await cluster.startBroker(2);
    await eventually('broker 2 leading its preferred partitions again', async () => {
      const { partitions } = await admin.describeTopic(TOPIC);
      const preferred = partitions.filter((p) => p.replicas[0] === 2);
      return preferred.every((p) => p.leader === 2 && p.isr.length === 3) ? true : undefined;
    });
  }, 120_000);

  it('restarting every broker and every coordinator one after another under load fails no acks=all produce and loses nothing', async () => {
    await fullIsr();
    const traffic = load('rolling');
    await sleep(500);
    for (const id of [1, 2, 3]) {
      const proc = cluster.brokers.get(id)!.proc;
      expect(await proc.terminate(30_000)).toBe(0);
      expect(shutdownRecord(proc.records)?.msg).toBe(
        'controlled shutdown: leaderships moved, out of every ISR',
      );
      await cluster.startBroker(id);
      await fullIsr();
    }
    for (const id of [1, 2, 3]) {
      const proc = cluster.coordinators.get(id)!.proc;
      expect(await proc.terminate(30_000)).toBe(0);
      await cluster.startCoordinator(id);
      // The restarted node is back in the quorum before the next one goes.
      await eventually(`coordinator ${id} serving`, async () =>
        (await admin.describeTopic(TOPIC)).partitions.length === PARTITIONS ? true : undefined,
      );
      await sleep(1_000);
    }
    await sleep(500);
    await traffic.stop();
    console.log(`rolling restart under load: ${JSON.stringify(traffic.stats())}`);
    expectNoFailures(traffic.failures);

    // Every acknowledged record is there, once, in order.
    const ends = await admin.listOffsets(TOPIC, 'latest');
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const acked = traffic.acked.get(partition) ?? [];
      expect(acked.length).toBeGreaterThan(0);
      const end = ends.find((e) => e.partition === partition)!.offset;
      const read = await readPartition(partition, end);
      const ackedSet = new Set(acked);
      expect(read.filter((v) => ackedSet.has(v))).toEqual(acked);
      expect(new Set(read).size).toBe(read.length);
    }
  }, 300_000);
});
