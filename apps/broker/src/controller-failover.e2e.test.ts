import * as grpc from '@grpc/grpc-js';
import { KvClient } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { brokerService, encodeBatch } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

const registry = new ProcessRegistry();
let cluster: TopicCluster;
let kv: KvClient;
const brokers = new Map<number, AnyClient>();

function call<T>(broker: number, method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    brokers.get(broker)![method]!(req, { deadline: Date.now() + 10_000 }, (err: unknown, res: T) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

interface Cluster {
  brokers: { id: number; fenced: boolean; epoch: number }[];
  controller_id: number;
}

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 2, {
    coordinators: 3,
    coordinatorArgs: ['--broker-session-timeout-ms', '2000', '--broker-heartbeat-ms', '200'],
  });
  kv = new KvClient({ bootstrap: cluster.coordinator.split(',') });
  for (const [id, b] of cluster.brokers)
    brokers.set(
      id,
      new (brokerService('Broker'))(b.address, grpc.credentials.createInsecure()) as AnyClient,
    );
});

afterAll(async () => {
  kv?.close();
  for (const c of brokers.values()) c.close();
  await registry.stopAll();
  cluster?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the controller on 3 coordinators', () => {
  it('fences a broker that stops heartbeating, takes its partitions offline, and brings them back when it returns', async () => {
    await call(1, 'CreateTopic', { name: 'f', partitions: 4, replication_factor: 1 });
    const before = await call<Cluster>(1, 'DescribeCluster', {});
    const epoch2 = before.brokers.find((b) => b.id === 2)!.epoch;
    const proc = cluster.brokers.get(2)!.proc;
    proc.pause();
    try {
      let fenced = false;
      for (let i = 0; i < 40 && !fenced; i++) {
        await sleep(200);
        const c = await call<Cluster>(1, 'DescribeCluster', {});
        fenced = c.brokers.find((b) => b.id === 2)!.fenced;
      }
      expect(fenced).toBe(true);
      // Broker 1 learns of the fencing through its watch: wait for it rather than race it.
      const due = (p: { leader: number; replicas: number[] }) =>
        p.leader === (p.replicas[0] === 2 ? -1 : p.replicas[0]);
      let partitions: { leader: number; replicas: number[] }[] = [];
      for (let i = 0; i < 50; i++) {
        const meta = await call<{
          topics: { partitions: { leader: number; replicas: number[] }[] }[];
        }>(1, 'Metadata', { topics: ['f'] });
        partitions = meta.topics[0]!.partitions;
        if (partitions.every(due)) break;
        await sleep(200);
      }
      for (const p of partitions) expect(p.leader).toBe(p.replicas[0] === 2 ? -1 : p.replicas[0]);
    } finally {
      proc.resume();
    }
    // Resumed, it learns it was fenced, registers again with a new epoch and leads again.
    let back: Cluster | undefined;
    for (let i = 0; i < 40; i++) {
      await sleep(200);
      back = await call<Cluster>(1, 'DescribeCluster', {});
      if (!back.brokers.find((b) => b.id === 2)!.fenced) break;
    }
    expect(back!.brokers.find((b) => b.id === 2)).toMatchObject({ fenced: false });
    expect(back!.brokers.find((b) => b.id === 2)!.epoch).toBeGreaterThan(epoch2);
    let leaders: number[] = [];
    for (let i = 0; i < 20; i++) {
      const meta = await call<{ topics: { partitions: { leader: number }[] }[] }>(1, 'Metadata', {
        topics: ['f'],
      });
      leaders = meta.topics[0]!.partitions.map((p) => p.leader);
      if (leaders.every((l) => l > 0)) break;
      await sleep(200);
    }
    expect(new Set(leaders)).toEqual(new Set([1, 2]));
  });

  it('survives kill -9 of the coordinator leader: brokers are not fenced, topics can still be made, produce goes on', async () => {
    const leader = (await kv.members()).leaderId;
    const epochs = (await call<Cluster>(1, 'DescribeCluster', {})).brokers.map((b) => b.epoch);
    await cluster.coordinators.get(leader)!.proc.kill9();
    let created = false;
    for (let i = 0; i < 50 && !created; i++) {
      created = await call(2, 'CreateTopic', {
        name: 'after-failover',
        partitions: 2,
        replication_factor: 1,
      }).then(
        () => true,
        () => false,
      );
      if (!created) await sleep(200);
    }
    expect(created).toBe(true);
    const r = await call<{ partitions: { error: unknown; base_offset: number }[] }>(1, 'Produce', {
      acks: 1,
      partitions: [
        { topic: 'after-failover', partition: 0, records: encodeBatch([{ value: 'x' }]) },
        { topic: 'after-failover', partition: 1, records: encodeBatch([{ value: 'y' }]) },
      ],
    });
    for (const p of r.partitions) {
      if (p.error) {
        // The partition may be led by the other broker; it must say so.
        expect(p.error).toMatchObject({ code: 'NOT_LEADER' });
      } else expect(p.base_offset).toBe(0);
    }
    // A new controller gave every broker a full session: nobody was fenced, no epoch changed.
    await sleep(2500);
    const after = await call<Cluster>(1, 'DescribeCluster', {});
    expect(after.controller_id).not.toBe(leader);
    expect(after.brokers.every((b) => !b.fenced)).toBe(true);
    expect(after.brokers.map((b) => b.epoch)).toEqual(epochs);
  });
});
