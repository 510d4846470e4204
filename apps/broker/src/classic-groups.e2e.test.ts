import { Admin, Consumer, Producer } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import {
  ClientPool,
  decodeConsumerAssignment,
  ErrorCode,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
  groupService,
  MemberIdRequiredError,
  type StrandError,
} from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';
import type { ClassicJoinAnswer as JoinAnswer } from './kafka/handlers/join-group.js';

// The group coordinator's classic mode (Kafka's client-side assignment) through real
// processes, spoken to as a broker forwarding Kafka clients' requests would: its groups and
// offsets are the ones the SDK's admin sees, and they survive a coordinator restart.

const registry = new ProcessRegistry();
let cluster: TopicCluster;
let pool: ClientPool;
let admin: Admin;

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 1, {
    coordinatorArgs: ['--group-initial-rebalance-delay-ms', '0'],
  });
  pool = new ClientPool(groupService('GroupCoordinator'));
  admin = new Admin({ bootstrap: cluster.bootstrap });
  await admin.createTopic({ name: 'orders', partitions: 4 });
  const producer = new Producer({ bootstrap: cluster.bootstrap });
  await producer.sendBatch(
    Array.from({ length: 40 }, (_, i) => ({ topic: 'orders', partition: i % 4, value: `v${i}` })),
  );
  await producer.close();
});

afterAll(async () => {
  await admin?.close();
  pool?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

/** A call to the coordinator, retried while it is not ready (after its restart). */
async function call<T>(method: string, req: unknown, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await pool.unary<T>(cluster.coordinator, method, req, timeoutMs);
    } catch (err) {
      const e = err as StrandError;
      if (!e.retriable || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const join = (member_id: string, instance = '') =>
  call<JoinAnswer>('ClassicJoinGroup', {
    group_id: 'kafka-app',
    member_id,
    group_instance_id: instance,
    client_id: 'kafka-test',
    client_host: '/127.0.0.1',
    session_timeout_ms: 10_000,
    rebalance_timeout_ms: 10_000,
    protocol_type: 'consumer',
    protocols: [
      {
        name: 'range',
        metadata: encodeConsumerSubscription({
          topics: ['orders'],
          userData: null,
          ownedPartitions: [],
        }),
      },
    ],
    require_known_member_id: true,
  });

async function firstJoin(instance = ''): Promise<string> {
  if (instance) return '';
  const err = await join('').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(MemberIdRequiredError);
  return (err as MemberIdRequiredError).memberId;
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: StrandError) => e.code,
  );

describe('classic groups on the coordinator', () => {
  it('join, the leader assigns, everyone syncs; offsets show in the SDK with lag; a restart keeps it all', async () => {
    const ids = [await firstJoin(), await firstJoin()];
    const [a, b] = await Promise.all(ids.map((id) => join(id)));
    expect(a!.generation).toBe(1);
    expect(b!.generation).toBe(1);
    const leader = a!.member_id === a!.leader_id ? a! : b!;
    const follower = leader === a ? b! : a!;
    expect(leader.members.map((m) => m.member_id).sort()).toEqual(ids.sort());
    expect(follower.members).toEqual([]);
    expect(leader.protocol).toBe('range');

    const mine = encodeConsumerAssignment({
      partitions: [{ topic: 'orders', partitions: [0, 1] }],
      userData: null,
    });
    const theirs = encodeConsumerAssignment({
      partitions: [{ topic: 'orders', partitions: [2, 3] }],
      userData: null,
    });
    const sync = (m: JoinAnswer, assignments: { member_id: string; assignment: Buffer }[] = []) =>
      call<{ assignment: Buffer; protocol: string }>('ClassicSyncGroup', {
        group_id: 'kafka-app',
        member_id: m.member_id,
        generation: m.generation,
        protocol_type: 'consumer',
        protocol: 'range',
        assignments,
      });
    const waiting = sync(follower);
    const got = await sync(leader, [
      { member_id: leader.member_id, assignment: mine },
      { member_id: follower.member_id, assignment: theirs },
    ]);
    expect(got.assignment).toEqual(mine);
    expect((await waiting).assignment).toEqual(theirs);

    const commit = await call<{ offsets: { code: string }[] }>('ClassicCommitOffsets', {
      group_id: 'kafka-app',
      member_id: leader.member_id,
      generation: 1,
      offsets: [
        { topic: 'orders', partition: 0, offset: 7, metadata: 'kafka meta' },
        { topic: 'orders', partition: 1, offset: 10, metadata: '' },
        { topic: 'no-such-topic', partition: 0, offset: 1, metadata: '' },
      ],
    });
    expect(commit.offsets.map((o) => o.code)).toEqual(['', '', ErrorCode.UnknownTopic]);
    expect(
      await codeOf(
        call('ClassicCommitOffsets', {
          group_id: 'kafka-app',
          member_id: follower.member_id,
          generation: 0,
          offsets: [{ topic: 'orders', partition: 2, offset: 1 }],
        }),
      ),
    ).toBe(ErrorCode.StaleGeneration);

    const d = await admin.describeGroup('kafka-app');
    expect(d).toMatchObject({ state: 'STABLE', protocolType: 'consumer', protocol: 'range' });
    expect(d.members.map((m) => m.clientHost)).toEqual(['/127.0.0.1', '/127.0.0.1']);
    const owner = new Map(
      d.members.flatMap((m) => m.assignment.map((tp) => [tp.partition, m.memberId])),
    );
    expect(owner.get(0)).toBe(leader.member_id);
    expect(owner.get(3)).toBe(follower.member_id);
    expect(d.offsets.find((o) => o.partition === 0)).toMatchObject({
      committed: 7,
      metadata: 'kafka meta',
      logEndOffset: 10,
      lag: 3,
      memberId: leader.member_id,
    });
    expect(d.offsets.find((o) => o.partition === 2)).toMatchObject({ committed: null });
    expect((await admin.listGroups()).find((g) => g.groupId === 'kafka-app')).toMatchObject({
      protocolType: 'consumer',
      members: 2,
      lag: 3,
    });

    // A Strand SDK member cannot join a group of Kafka clients.
    const strand = new Consumer({ bootstrap: cluster.bootstrap, groupId: 'kafka-app' });
    strand.subscribe(['orders']);
    expect(await codeOf(strand.poll(10_000))).toBe(ErrorCode.InconsistentGroupProtocol);
    await strand.close();

    // kill -9 and restart: the group comes back from its record, stable, same generation.
    const coordinator = cluster.coordinators.get(1)!;
    await coordinator.proc.kill9();
    await cluster.startCoordinator(1);
    await call('ClassicHeartbeat', {
      group_id: 'kafka-app',
      member_id: follower.member_id,
      generation: 1,
    });
    expect((await sync(follower)).assignment).toEqual(theirs);
    const raw = await call<{
      members: { member_id: string; protocol_assignment: Buffer; protocol_metadata: Buffer }[];
    }>('DescribeGroup', { group_id: 'kafka-app' });
    const l = raw.members.find((m) => m.member_id === leader.member_id)!;
    expect(decodeConsumerAssignment(l.protocol_assignment)?.partitions).toEqual([
      { topic: 'orders', partitions: [0, 1] },
    ]);

    // Everyone leaves in one request (v3+ batch leave): the group is empty; reset-offsets
    // moves what the Kafka members committed, and the group can be deleted.
    const left = await call<{ members: { code: string }[] }>('ClassicLeaveGroup', {
      group_id: 'kafka-app',
      members: [
        { member_id: leader.member_id },
        { member_id: follower.member_id },
        { member_id: 'nobody' },
      ],
    });
    expect(left.members.map((m) => m.code)).toEqual(['', '', ErrorCode.UnknownMemberId]);
    expect((await admin.describeGroup('kafka-app')).state).toBe('EMPTY');
    await admin.resetGroupOffsets('kafka-app', { offset: 2 }, { topic: 'orders' });
    const fetched = await call<{ offsets: { partition: number; offset: number }[] }>(
      'FetchOffsets',
      { group_id: 'kafka-app', partitions: [] },
    );
    expect(fetched.offsets.map((o) => [o.partition, o.offset])).toEqual([
      [0, 2],
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
    await admin.deleteGroup('kafka-app');
    expect((await admin.listGroups()).map((g) => g.groupId)).not.toContain('kafka-app');
  });

  it('static members: a restarted instance gets its assignment back without a rebalance; the old id is fenced', async () => {
    const first = await join('', 'instance-1');
    expect(first.generation).toBeGreaterThan(0);
    const assignment = encodeConsumerAssignment({
      partitions: [{ topic: 'orders', partitions: [0, 1, 2, 3] }],
      userData: null,
    });
    await call('ClassicSyncGroup', {
      group_id: 'kafka-app',
      member_id: first.member_id,
      group_instance_id: 'instance-1',
      generation: first.generation,
      assignments: [{ member_id: first.member_id, assignment }],
    });
    const again = await join('', 'instance-1');
    expect(again.member_id).not.toBe(first.member_id);
    expect(again.generation).toBe(first.generation);
    const got = await call<{ assignment: Buffer }>('ClassicSyncGroup', {
      group_id: 'kafka-app',
      member_id: again.member_id,
      group_instance_id: 'instance-1',
      generation: again.generation,
    });
    expect(got.assignment).toEqual(assignment);
    expect(
      await codeOf(
        call('ClassicHeartbeat', {
          group_id: 'kafka-app',
          member_id: first.member_id,
          group_instance_id: 'instance-1',
          generation: first.generation,
        }),
      ),
    ).toBe(ErrorCode.FencedInstanceId);
    await call('ClassicLeaveGroup', {
      group_id: 'kafka-app',
      members: [{ group_instance_id: 'instance-1' }],
    });
  });
});
