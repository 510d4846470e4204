import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Admin, Producer } from '@strand/client';
import { freePort, ProcessRegistry } from '@strand/testkit';
import { brokerService } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROKER_MAIN,
  COORDINATOR_MAIN,
  startTopicCluster,
  type TopicCluster,
} from './cluster.test-util.js';

// Before: RegisterBroker as broker 1 from anyone was accepted with a new epoch (the live
// broker lost its registration), and a follower fetch naming any broker id was believed.

const registry = new ProcessRegistry();
let cluster: TopicCluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 2, {
    // A long session: a restarted broker registers at once only because its token says who it is.
    coordinatorArgs: ['--broker-session-timeout-ms', '60000'],
  });
  admin = new Admin({ bootstrap: cluster.bootstrap });
});
afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** One unary call; resolves with the answer or the Strand error code. */
function call(
  address: string,
  service: 'Controller' | 'Broker',
  method: string,
  req: unknown,
): Promise<{ ok?: Record<string, unknown>; code?: string; details?: string }> {
  const c = new (brokerService(service))(address, grpc.credentials.createInsecure()) as AnyClient;
  return new Promise((resolve) =>
    c[method]!(req, (err: grpc.ServiceError | null, res: Record<string, unknown>) => {
      c.close();
      resolve(
        err
          ? { code: err.metadata?.get('strand-code')[0]?.toString(), details: err.details }
          : { ok: res },
      );
    }),
  );
}

const epochOf = async (id: number) =>
  (await admin.describeCluster()).brokers.find((b) => b.id === id)!.epoch;

describe('a broker is who it says only with the token from its data folder', () => {
  it('a live broker’s registration cannot be taken over, nor its heartbeats, ISR changes or fetches forged', async () => {
    const epoch = await epochOf(1);
    const token = randomBytes(32);
    const register = (extra: Record<string, unknown>) =>
      call(cluster.coordinator, 'Controller', 'RegisterBroker', {
        id: 1,
        address: '127.0.0.1:1',
        incarnation: 'thief',
        ...extra,
      });
    expect((await register({})).code).toBe('INVALID_REQUEST'); // no token at all
    const stolen = await register({ token });
    expect(stolen.code).toBe('DUPLICATE_BROKER_REGISTRATION');
    expect(stolen.details).toMatch(/broker 1 is registered and alive/);
    expect((await register({ token, cluster_id: 'elsewhere' })).code).toBe(
      'INCONSISTENT_CLUSTER_ID',
    );
    const beat = await call(cluster.coordinator, 'Controller', 'Heartbeat', {
      id: 1,
      epoch,
      token,
    });
    expect(beat.code).toBe('AUTHENTICATION_FAILED');

    await admin.createTopic({ name: 'guarded', partitions: 1, replicationFactor: 2 });
    const p = (await admin.describeTopic('guarded')).partitions[0]!;
    const follower = p.replicas.find((b) => b !== p.leader)!;
    const alter = await call(cluster.coordinator, 'Controller', 'AlterPartition', {
      broker_id: p.leader,
      broker_epoch: await epochOf(p.leader),
      topic: 'guarded',
      partition: 0,
      leader_epoch: p.leaderEpoch,
      partition_epoch: p.partitionEpoch,
      new_isr: [p.leader],
      broker_token: token,
    });
    expect(alter.code).toBe('AUTHENTICATION_FAILED');

    // A follower's fetch that moved the high watermark past what the follower holds.
    const fetch = await call(cluster.brokers.get(p.leader)!.address, 'Broker', 'Fetch', {
      replica_id: follower,
      replica_epoch: await epochOf(follower),
      replica_token: token,
      partitions: [
        { topic: 'guarded', partition: 0, offset: 1_000_000, leader_epoch: p.leaderEpoch },
      ],
    });
    expect(fetch.code).toBe('AUTHENTICATION_FAILED');

    // The real broker kept its registration, and the cluster works.
    expect(await epochOf(1)).toBe(epoch);
    const producer = new Producer({ bootstrap: cluster.bootstrap });
    await producer.send({ topic: 'guarded', value: 'fine' });
    await producer.close();
    const isr = (await admin.describeTopic('guarded')).partitions[0]!.isr;
    expect([...isr].sort()).toEqual([...p.replicas].sort());
  });

  it('a broker restarted after kill -9 registers at once with its token, long before its old session ends', async () => {
    const epoch = await epochOf(2);
    await cluster.brokers.get(2)!.proc.kill9();
    const started = Date.now();
    const proc = await cluster.startBroker(2);
    await proc.waitFor(/broker 2 registered/, 30_000);
    expect(Date.now() - started).toBeLessThan(30_000); // the session is 60 s
    expect(await epochOf(2)).toBeGreaterThan(epoch);
  });

  it('a broker whose data folder belongs to another cluster refuses to join it', async () => {
    const dir = join(cluster.logDir(1), '..', '..', 'broker-elsewhere');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cluster.id'), 'another-cluster\n');
    const proc = registry.spawnNode(BROKER_MAIN, {
      args: [
        ...['--id', '9', '--listen', `127.0.0.1:${await freePort()}`],
        ...['--coordinators', cluster.coordinator, '--data', dir],
      ],
    });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(/INCONSISTENT_CLUSTER_ID: .*another-cluster/);
  });

  it("a broker and a coordinator each refuse the other's data folder, saying whose it is, and write nothing", async () => {
    const brokerDir = join(cluster.logDir(1), '..');
    const coordinatorDir = join(brokerDir, '..', 'coordinator-1');
    const before = [readdirSync(brokerDir).sort(), readdirSync(coordinatorDir).sort()];
    const coordinator = registry.spawnNode(COORDINATOR_MAIN, {
      args: ['--id', '1', '--listen', `127.0.0.1:${await freePort()}`, '--data', brokerDir],
    });
    expect(await coordinator.exited).toBe(1);
    expect(coordinator.output()).toMatch(/is a Strand broker's data folder, not a coordinator's/);
    const broker = registry.spawnNode(BROKER_MAIN, {
      args: [
        ...['--id', '8', '--listen', `127.0.0.1:${await freePort()}`],
        ...['--coordinators', cluster.coordinator, '--data', coordinatorDir],
      ],
    });
    expect(await broker.exited).toBe(1);
    expect(broker.output()).toMatch(/is a Strand coordinator's data folder, not a broker's/);
    expect([readdirSync(brokerDir).sort(), readdirSync(coordinatorDir).sort()]).toEqual(before);
  });
});
