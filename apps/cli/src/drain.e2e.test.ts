import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, Consumer, type ConsumerRecord, Producer } from '@strand/client';
import {
  coordinatorLayout,
  eventually,
  freePort,
  type NodeProcess,
  ProcessRegistry,
  tempDir,
} from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, exec } from './cli.test-util.js';

// Decommissioning a broker under acks=all load: `strand broker drain` moves its replicas away
// through the controller, then it stops with nothing under-replicated; `strand topic reassign`
// balances a topic onto a new broker. 3 coordinators, 4 brokers (then a 5th), RF 3, min ISR 2.

const COORDINATOR = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));
const BROKER = fileURLToPath(import.meta.resolve('@strand/broker/main'));
const TOPIC = 'decommission';
const PARTITIONS = 6;
const registry = new ProcessRegistry();
const data = tempDir('strand-drain-');
const brokers = new Map<number, { address: string; proc: NodeProcess }>();
let coordinators = '';
let admin: Admin;

async function startBroker(id: number): Promise<void> {
  const address = `127.0.0.1:${await freePort()}`;
  const proc = await registry.start(BROKER, {
    name: `broker-${id}`,
    args: [
      ...['--id', String(id), '--listen', address, '--coordinators', coordinators],
      ...['--data', join(data.path, `broker-${id}`), '--replica-lag-time-max-ms', '30000'],
    ],
    readyLine: /broker \d+ listening on/,
  });
  brokers.set(id, { address, proc });
}
const bootstrap = () => [...brokers.values()].map((b) => b.address).join(',');
const strand = (...args: string[]) =>
  exec(process.execPath, [CLI, ...args, '--bootstrap', bootstrap()]);
const partitions = async () => (await admin.describeTopic(TOPIC)).partitions;

/** acks=all sends round the partitions until stopped: what was acknowledged, what failed. */
function load() {
  const producer = new Producer({ bootstrap: bootstrap().split(','), acks: 'all', lingerMs: 0 });
  const acked = new Map<number, string[]>();
  const failures: string[] = [];
  let stopped = false;
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      const partition = i % PARTITIONS;
      try {
        await producer.send({ topic: TOPIC, partition, value: `v-${i}` });
        acked.set(partition, [...(acked.get(partition) ?? []), `v-${i}`]);
      } catch (err) {
        failures.push(`v-${i}: ${(err as Error).message}`);
      }
    }
    await producer.close();
  })();
  const stop = () => {
    stopped = true;
    return done;
  };
  return { acked, failures, stop };
}

async function readAll(partition: number, count: number): Promise<string[]> {
  const consumer = new Consumer({ bootstrap: bootstrap().split(','), maxWaitMs: 200 });
  consumer.assign([{ topic: TOPIC, partition, offset: 0 }]);
  const out: ConsumerRecord[] = [];
  const deadline = Date.now() + 30_000;
  while (out.length < count && Date.now() < deadline) out.push(...(await consumer.poll(200)));
  await consumer.close();
  return out.map((r) => r.value!.toString());
}

beforeAll(async () => {
  const layout = await coordinatorLayout(3);
  coordinators = [...layout.clients.values()].join(',');
  await Promise.all(
    layout.ids.map((id) =>
      registry.start(COORDINATOR, {
        name: `coordinator-${id}`,
        args: [...layout.args(id), '--data', join(data.path, `coordinator-${id}`)],
        readyLine: /listening on/,
      }),
    ),
  );
  for (const id of [1, 2, 3, 4]) await startBroker(id);
  admin = new Admin({ bootstrap: bootstrap().split(',') });
  await eventually('4 live brokers', async () => {
    const c = await admin.describeCluster();
    return c.brokers.filter((b) => !b.fenced).length === 4;
  });
  await admin.createTopic({
    name: TOPIC,
    partitions: PARTITIONS,
    replicationFactor: 3,
    configs: { 'min.insync.replicas': '2' },
  });
  await eventually('every partition with 3 in sync', async () =>
    (await partitions()).every((p) => p.isr.length === 3 && p.leader > 0),
  );
}, 300_000); // 3 coordinators and 4 brokers, on a loaded machine

afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  data.cleanup();
});

describe('decommissioning a broker', () => {
  it('strand broker drain moves every replica off it under acks=all load: 0 failed produces, every acknowledged record read back, then it stops with nothing under-replicated', async () => {
    const on4 = (await partitions()).filter((p) => p.replicas.includes(4)).length;
    expect(on4).toBeGreaterThan(0); // 6 partitions x 3 replicas over 4 brokers
    const traffic = load();
    await eventually('records flowing', () => traffic.acked.size === PARTITIONS);
    const ackedBefore = [...traffic.acked.values()].flat().length;
    // The ISR of every partition, sampled while it moves: it never drops below min.insync.replicas.
    let smallestIsr = 3;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const p of await partitions()) smallestIsr = Math.min(smallestIsr, p.isr.length);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const r = await strand('broker', 'drain', '4', '--max-moves', '2');
    sampling = false;
    await sampler;
    await traffic.stop();
    expect(smallestIsr).toBeGreaterThanOrEqual(2);
    expect([...traffic.acked.values()].flat().length).toBeGreaterThan(ackedBefore);
    expect(r.stderr.match(/^moved /gm)).toHaveLength(on4);
    expect(r.stdout).toContain(`broker 4 holds no replicas (${on4} partition(s) moved)`);
    expect(r.code).toBe(0);
    expect(traffic.failures).toEqual([]);
    const after = await partitions();
    for (const p of after) {
      expect(p.replicas).toHaveLength(3);
      expect(p.replicas).not.toContain(4);
      expect(p.targetReplicas).toBeUndefined();
    }
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const sent = traffic.acked.get(partition) ?? [];
      const read = await readAll(partition, sent.length);
      expect(read.filter((v) => sent.includes(v))).toEqual(sent);
    }
    // Removing it now leaves every partition whole.
    await brokers.get(4)!.proc.terminate(20_000);
    brokers.delete(4);
    // Until its session ends the controller counts it live (a restart would be back in time).
    await eventually('broker 4 fenced', async () =>
      (await admin.describeCluster()).brokers.some((b) => b.id === 4 && b.fenced),
    );
    await eventually('no partition under-replicated once broker 4 is gone', async () =>
      (await partitions()).every((p) => p.isr.length === 3 && p.leader > 0 && !p.isr.includes(4)),
    );
    const dirs = readdirSync(join(data.path, 'broker-4', 'logs')).filter((d) =>
      d.startsWith(TOPIC),
    );
    expect(dirs).toEqual([]); // the moved replicas' old copies are gone
  });

  it('refuses a drain that would leave fewer live brokers than a partition has replicas, moving nothing', async () => {
    const before = await partitions();
    const r = await strand('broker', 'drain', '3');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /cannot drain broker 3: .* has 3 replicas but only 2 broker\(s\) can hold them/,
    );
    expect((await partitions()).map((p) => p.replicas)).toEqual(before.map((p) => p.replicas));
  });

  it('strand topic reassign plans a balanced assignment onto a new broker, --execute carries it out and --verify says it is done', async () => {
    await startBroker(5);
    await eventually('broker 5 live', async () =>
      (await admin.describeCluster()).brokers.some((b) => b.id === 5 && !b.fenced),
    );
    const planned = await strand('topic', 'reassign', TOPIC, '--json');
    expect(planned.code).toBe(0);
    const { proposed } = JSON.parse(planned.stdout) as {
      proposed: { version: 1; partitions: { replicas: number[] }[] };
    };
    const onFive = proposed.partitions.filter((p) => p.replicas.includes(5)).length;
    expect(onFive).toBeGreaterThanOrEqual(4); // 18 replicas over 4 brokers: 4 or 5 each
    const file = join(data.path, 'plan.json');
    writeFileSync(file, planned.stdout); // the whole --json output: --plan takes its proposed
    const unfinished = await strand('topic', 'reassign', '--verify', '--plan', file);
    expect(unfinished.code).toBe(1);
    const executed = await strand('topic', 'reassign', '--execute', '--plan', file);
    expect(executed.code).toBe(0);
    expect(executed.stdout).toContain(`moved ${proposed.partitions.length} partition(s)`);
    const verified = await strand('topic', 'reassign', '--verify', '--plan', file);
    expect(verified.code).toBe(0);
    const counts = new Map<number, number>();
    for (const p of await partitions())
      for (const b of p.replicas) counts.set(b, (counts.get(b) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([1, 2, 3, 5]);
    for (const n of counts.values()) expect(n === 4 || n === 5).toBe(true);
    const again = await strand('topic', 'reassign', TOPIC, '--json');
    expect(JSON.parse(again.stdout).proposed.partitions).toEqual([]); // balanced: nothing to do
  });
});
