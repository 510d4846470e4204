import { Admin, Consumer, type ConsumerRecord, Producer } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// Replication through real processes: the ISR shrinking and growing back, min.insync.replicas,
// the preferred leader returning, and clean against unclean election.

const registry = new ProcessRegistry();
let cluster: TopicCluster;
let admin: Admin;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const partition0 = async (topic: string) => (await admin.describeTopic(topic)).partitions[0]!;

/** Partition 0 of `topic` once its replicas are `replicas`, all in sync, led by the first. */
const settled = (topic: string, replicas: number[]) =>
  until(`${topic} on ${replicas} with a full ISR`, async () => {
    const p = await partition0(topic);
    return p.leader === replicas[0] &&
      [...p.isr].sort().join() === [...replicas].sort().join() &&
      p.replicas.join() === replicas.join() &&
      (p.targetReplicas ?? []).length === 0
      ? p
      : undefined;
  });

async function readAll(topic: string, bootstrap = cluster.bootstrap): Promise<string[]> {
  const consumer = new Consumer({ bootstrap, maxWaitMs: 200 });
  const [end] = await admin.listOffsets(topic, 'latest');
  consumer.assign([{ topic, partition: 0, offset: 0 }]);
  const out: ConsumerRecord[] = [];
  const deadline = Date.now() + 10_000;
  while (out.length < end!.offset && Date.now() < deadline) out.push(...(await consumer.poll(200)));
  await consumer.close();
  return out.map((r) => r.value!.toString());
}

async function send(topic: string, values: string[], acks: 1 | 'all' = 'all') {
  const producer = new Producer({ bootstrap: cluster.bootstrap, acks, retries: 0, lingerMs: 0 });
  try {
    for (const value of values) await producer.send({ topic, partition: 0, value });
  } finally {
    await producer.close();
  }
}

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 3, {
    coordinatorArgs: ['--broker-session-timeout-ms', '1500', '--broker-heartbeat-ms', '300'],
    brokerArgs: ['--replica-lag-time-max-ms', '1000'],
  });
  admin = new Admin({ bootstrap: cluster.bootstrap });
});

afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

async function restart(id: number) {
  await cluster.startBroker(id);
}

describe('replication through real processes', () => {
  it('min.insync.replicas: acks=all is refused with NOT_ENOUGH_REPLICAS while the ISR is short, and works again once the follower is back in sync', async () => {
    await admin.createTopic({
      name: 'strict',
      partitions: 1,
      replicationFactor: 2,
      configs: { 'min.insync.replicas': '2' },
    });
    await admin.reassignPartition('strict', 0, [1, 2]);
    await settled('strict', [1, 2]);
    await send('strict', ['a', 'b']);

    await cluster.brokers.get(2)!.proc.kill9();
    await until('broker 2 out of the ISR', async () =>
      (await partition0('strict')).isr.join() === '1' ? true : undefined,
    );
    await expect(send('strict', ['refused'])).rejects.toMatchObject({
      code: 'NOT_ENOUGH_REPLICAS',
    });
    await send('strict', ['c'], 1); // acks=1 needs only the leader

    await restart(2);
    await settled('strict', [1, 2]);
    await send('strict', ['d']);
    expect(await readAll('strict')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('acks=all is not acknowledged when the ISR shrinks below min.insync.replicas while it waits: written, refused, kept once', async () => {
    await admin.createTopic({
      name: 'shrinking',
      partitions: 1,
      replicationFactor: 2,
      configs: { 'min.insync.replicas': '2' },
    });
    await admin.reassignPartition('shrinking', 0, [1, 2]);
    await settled('shrinking', [1, 2]);

    // The follower stops: the record waits for it until the leader drops it from the ISR,
    // and then the high watermark passes the record with one copy only.
    const follower = cluster.brokers.get(2)!.proc;
    follower.pause();
    try {
      await expect(send('shrinking', ['one copy'])).rejects.toMatchObject({
        code: 'NOT_ENOUGH_REPLICAS',
        message: expect.stringMatching(/is written but its ISR \[1\] shrank/),
      });
    } finally {
      follower.resume();
    }
    await settled('shrinking', [1, 2]);
    expect(await readAll('shrinking')).toEqual(['one copy']);
  });

  it('leadership moves to an in-sync replica when the leader dies, and back to the preferred one when it returns in sync', async () => {
    await admin.createTopic({ name: 'pref', partitions: 1, replicationFactor: 3 });
    await admin.reassignPartition('pref', 0, [3, 1, 2]);
    await settled('pref', [3, 1, 2]);
    await send('pref', ['p1', 'p2']);

    await cluster.brokers.get(3)!.proc.kill9();
    const moved = await until('a new leader', async () => {
      const p = await partition0('pref');
      return p.leader > 0 && p.leader !== 3 ? p : undefined;
    });
    expect(moved.isr).not.toContain(3);
    expect(moved.leaderEpoch).toBeGreaterThan(0);
    await send('pref', ['p3']);

    await restart(3);
    const back = await settled('pref', [3, 1, 2]);
    expect(back.leaderEpoch).toBeGreaterThan(moved.leaderEpoch);
    await send('pref', ['p4']);
    expect(await readAll('pref')).toEqual(['p1', 'p2', 'p3', 'p4']);
  });

  it('with only an out-of-sync replica alive, a clean topic stays offline and an unclean one elects it, losing what it never had', async () => {
    for (const name of ['clean', 'unclean'])
      await admin.createTopic({
        name,
        partitions: 1,
        replicationFactor: 2,
        configs: name === 'unclean' ? { 'unclean.leader.election.enable': 'true' } : {},
      });
    for (const name of ['clean', 'unclean']) await admin.reassignPartition(name, 0, [1, 2]);
    for (const name of ['clean', 'unclean']) {
      await settled(name, [1, 2]);
      await send(name, ['both']);
    }
    // Broker 2 dies: the ISR is broker 1 alone, which takes a record broker 2 never sees.
    await cluster.brokers.get(2)!.proc.kill9();
    for (const name of ['clean', 'unclean'])
      await until(`${name}: ISR [1]`, async () =>
        (await partition0(name)).isr.join() === '1' ? true : undefined,
      );
    for (const name of ['clean', 'unclean']) await send(name, ['only-on-1'], 1);
    // Broker 1 dies, then broker 2 comes back alone.
    await cluster.brokers.get(1)!.proc.kill9();
    await restart(2);
    const unclean = await until('unclean: broker 2 elected', async () => {
      const p = await partition0('unclean');
      return p.leader === 2 ? p : undefined;
    });
    expect(unclean.isr).toEqual([2]);
    await sleep(1500); // time enough for a (wrong) election of the clean topic too
    expect((await partition0('clean')).leader).toBe(-1);
    await send('unclean', ['after']);

    // Broker 1 returns: it truncates what the unclean leader never had.
    await restart(1);
    await until('clean: broker 1 leads again', async () =>
      (await partition0('clean')).leader === 1 ? true : undefined,
    );
    await until('unclean: both in sync', async () =>
      (await partition0('unclean')).isr.length === 2 ? true : undefined,
    );
    expect(await readAll('clean')).toEqual(['both', 'only-on-1']);
    expect(await readAll('unclean')).toEqual(['both', 'after']);
    // Broker 1's own copy agrees: with broker 2 gone it leads, and serves the same records.
    await cluster.brokers.get(2)!.proc.kill9();
    await until('unclean: broker 1 leads', async () =>
      (await partition0('unclean')).leader === 1 ? true : undefined,
    );
    expect(await readAll('unclean')).toEqual(['both', 'after']);
    await restart(2);
  });
});
