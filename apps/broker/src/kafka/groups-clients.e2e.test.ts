import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, Producer } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from '../cluster.test-util.js';
import { run, tool } from './client.test-util.js';
import { kafkajs } from './kafkajs.test-util.js';

// Real, unmodified Kafka clients as consumer groups. KafkaJS 2.2.4: members in processes of
// their own that rebalance when one joins and when one is killed -9 (its session times out),
// auto and manual commits, and KafkaJS's admin on the same groups. kafka-python 2.0.2: a
// group that commits and resumes. The Strand SDK sees (and moves) the offsets they commit.

const { AssignerProtocol, Kafka, logLevel } = kafkajs;
const CLIENTS = join(dirname(fileURLToPath(import.meta.url)), 'clients');
const MEMBER = join(CLIENTS, 'kafkajs-member.mjs');
const PYTHON = '/usr/bin/python3';
const python = tool(PYTHON);
const registry = new ProcessRegistry();
let cluster: TopicCluster;
let strand: Admin;
let producer: Producer;
const members: Member[] = [];

interface Event {
  t: 'join' | 'msg' | 'crash';
  assigned?: number[];
  value?: string;
  partition?: number;
  offset?: number;
  error?: string;
}

/** A KafkaJS consumer process; every line it printed is kept (kill -9 loses none). */
class Member {
  readonly events: Event[] = [];
  private readonly child: ChildProcess;
  private rest = '';
  readonly exited: Promise<void>;

  constructor(group: string, topic: string, mode: 'auto' | 'manual') {
    this.child = spawn(
      process.execPath,
      [MEMBER, cluster.bootstrap.join(','), group, topic, mode],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (this.rest + chunk.toString('utf8')).split('\n');
      this.rest = lines.pop() ?? '';
      for (const l of lines) if (l) this.events.push(JSON.parse(l) as Event);
    });
    this.exited = new Promise((r) => this.child.on('exit', () => r()));
    members.push(this);
  }

  get values(): string[] {
    return this.events.filter((e) => e.t === 'msg').map((e) => e.value!);
  }
  /** The partitions of its latest join. */
  get assigned(): number[] | undefined {
    return this.events
      .filter((e) => e.t === 'join')
      .at(-1)
      ?.assigned?.slice()
      .sort();
  }
  kill9(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    return this.exited;
  }
  stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const seen = (ms: Member[]) => new Set(ms.flatMap((m) => m.values));
const produce = (topic: string, prefix: string, n: number) =>
  producer.sendBatch(
    Array.from({ length: n }, (_, i) => ({ topic, partition: i % 4, value: `${prefix}${i}` })),
  );
const all = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 2, {
    coordinatorArgs: ['--group-initial-rebalance-delay-ms', '300'],
  });
  strand = new Admin({ bootstrap: cluster.bootstrap });
  producer = new Producer({ bootstrap: cluster.bootstrap, lingerMs: 2 });
  await strand.createTopic({ name: 'kj', partitions: 4, replicationFactor: 2 });
  await strand.createTopic({ name: 'kj-manual', partitions: 4 });
  await strand.createTopic({ name: 'py', partitions: 2 });
});

afterAll(async () => {
  await Promise.all(members.map((m) => m.kill9()));
  await producer?.close();
  await strand?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

describe('KafkaJS consumer groups', () => {
  it('rebalances when a member joins and when one is killed -9, auto-commits, and the Strand SDK sees the offsets', async () => {
    await produce('kj', 'a', 100);
    const m1 = new Member('kj-group', 'kj', 'auto');
    await until('m1 owns all 4 partitions', () => m1.assigned?.length === 4);
    await until('m1 read the first 100', () => seen([m1]).size === 100);

    const m2 = new Member('kj-group', 'kj', 'auto');
    await until(
      'the two share the partitions',
      () => m1.assigned?.length === 2 && m2.assigned?.length === 2,
    );
    expect([...m1.assigned!, ...m2.assigned!].sort()).toEqual([0, 1, 2, 3]);
    await produce('kj', 'b', 100);
    await until('the next 100 read by the two', () =>
      all('b', 100).every((v) => seen([m1, m2]).has(v)),
    );
    expect(m2.values.some((v) => v.startsWith('b'))).toBe(true);

    // KafkaJS's admin while the group is stable.
    const kafka = new Kafka({ brokers: cluster.bootstrap, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.listGroups();
      expect(groups).toContainEqual({ groupId: 'kj-group', protocolType: 'consumer' });
      const [d] = (await admin.describeGroups(['kj-group'])).groups;
      expect(d).toMatchObject({ groupId: 'kj-group', state: 'Stable', protocolType: 'consumer' });
      expect(d!.members).toHaveLength(2);
      const assigned = d!.members.flatMap(
        (m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)!.assignment.kj ?? [],
      );
      expect(assigned.sort()).toEqual([0, 1, 2, 3]);
      expect(
        d!.members.every((m) => m.clientId.startsWith('kafkajs-') && m.clientHost === '/127.0.0.1'),
      ).toBe(true);

      await m2.kill9();
      await until(
        'm1 takes all 4 back after m2’s session times out',
        () => m1.assigned?.length === 4,
      );
      await produce('kj', 'c', 100);
      await until('m1 reads the last 100', () => all('c', 100).every((v) => seen([m1]).has(v)));
      // Nothing was lost across both rebalances (at least once: a few may have been read twice).
      expect(seen([m1, m2]).size).toBe(300);
      await m1.stop(); // disconnect commits what it read

      const committed = await admin.fetchOffsets({ groupId: 'kj-group', topics: ['kj'] });
      expect(committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
        [0, '75'],
        [1, '75'],
        [2, '75'],
        [3, '75'],
      ]);
      const s = await strand.describeGroup('kj-group');
      expect(s).toMatchObject({ state: 'EMPTY', protocolType: 'consumer', lag: 0 });
      expect(s.offsets.map((o) => o.committed)).toEqual([75, 75, 75, 75]);

      // Offsets moved by KafkaJS's admin are what the Strand SDK sees, and the other way round.
      await admin.setOffsets({
        groupId: 'kj-group',
        topic: 'kj',
        partitions: [{ partition: 0, offset: '10' }],
      });
      await until('the SDK sees the offset KafkaJS set', async () => {
        const o = (await strand.describeGroup('kj-group')).offsets.find((x) => x.partition === 0);
        return o?.committed === 10 && o.lag === 65;
      });
      // KafkaJS resets by committing -2, which clients read back as no offset (its consumers
      // then start where fromBeginning says): the committed offsets are gone.
      await admin.resetOffsets({ groupId: 'kj-group', topic: 'kj', earliest: true });
      expect((await strand.describeGroup('kj-group')).offsets).toEqual([]);
      const reset = await admin.fetchOffsets({ groupId: 'kj-group', topics: ['kj'] });
      expect(reset[0]!.partitions.map((p) => p.offset)).toEqual(['-1', '-1', '-1', '-1']);
      await strand.resetGroupOffsets('kj-group', { offset: 70 }, { topic: 'kj' });
      const back = await admin.fetchOffsets({ groupId: 'kj-group', topics: ['kj'] });
      expect(back[0]!.partitions.map((p) => p.offset)).toEqual(['70', '70', '70', '70']);
      // A member started now resumes from there: the last 5 of each partition.
      const m3 = new Member('kj-group', 'kj', 'auto');
      await until('m3 reads from the reset offsets', () => m3.values.length >= 20);
      expect(m3.events.filter((e) => e.t === 'msg').every((e) => e.offset! >= 70)).toBe(true);
      await m3.stop();

      await admin.deleteGroups(['kj-group']);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain('kj-group');
      const none = await admin.fetchOffsets({ groupId: 'kj-group', topics: ['kj'] });
      expect(none[0]!.partitions.map((p) => p.offset)).toEqual(['-1', '-1', '-1', '-1']);
    } finally {
      await admin.disconnect();
    }
  }, 180_000);

  it('manual commits (with metadata) survive a kill -9: the next member resumes after them', async () => {
    await produce('kj-manual', 'm', 40);
    const first = new Member('kj-manual-group', 'kj-manual', 'manual');
    await until('all 40 read and committed', () => seen([first]).size === 40);
    await first.kill9();
    const d = await strand.describeGroup('kj-manual-group');
    expect(d.offsets.map((o) => [o.committed, o.metadata, o.lag])).toEqual([
      [10, 'manual', 0],
      [10, 'manual', 0],
      [10, 'manual', 0],
      [10, 'manual', 0],
    ]);
    await produce('kj-manual', 'n', 8);
    const second = new Member('kj-manual-group', 'kj-manual', 'manual');
    await until('the 8 new ones read', () => all('n', 8).every((v) => seen([second]).has(v)));
    // It started at the committed offsets: none of the first 40 again.
    expect(second.values.filter((v) => v.startsWith('m'))).toEqual([]);
    await second.stop();
  }, 120_000);
});

describe('kafka-python consumer groups', () => {
  it.skipIf(!python.present)(
    'produces, reads part of a topic in a group, commits; the next member resumes after it',
    async () => {
      const round = async (produce: number, count: number) =>
        JSON.parse(
          await run(
            PYTHON,
            [
              join(CLIENTS, 'python-group.py'),
              cluster.bootstrap.join(','),
              'py-group',
              'py',
              String(produce),
              String(count),
            ],
            { timeoutMs: 90_000 },
          ),
        ) as { partition: number; offset: number; value: string }[];
      const first = await round(20, 12);
      expect(first).toHaveLength(12);
      const d = await strand.describeGroup('py-group');
      expect(d).toMatchObject({ protocolType: 'consumer', lag: 8 });
      expect(d.offsets.reduce((n, o) => n + (o.committed ?? 0), 0)).toBe(12);
      const second = await round(0, 8);
      const values = [...first, ...second].map((r) => r.value).sort();
      expect(values).toEqual(all('py-', 20).sort());
      expect((await strand.describeGroup('py-group')).lag).toBe(0);
    },
  );
});
