import { Admin, Producer } from '@strand/client';
import {
  DeleteGroups,
  DescribeGroups,
  FindCoordinator,
  Heartbeat,
  JoinGroup,
  KafkaError,
  LeaveGroup,
  ListGroups,
  OffsetCommit,
  OffsetFetch,
  SyncGroup,
} from '@strand/kafka-protocol';
import { ProcessRegistry } from '@strand/testkit';
import { encodeConsumerAssignment, encodeConsumerSubscription } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from '../cluster.test-util.js';
import { RawKafkaClient } from './client.test-util.js';

// The group APIs at the versions clients send, byte for byte through the brokers' Kafka
// listener (two brokers: any broker is a coordinator, forwarding to the group coordinator).

const registry = new ProcessRegistry();
let cluster: TopicCluster;
const clients: RawKafkaClient[] = [];
const connect = async (broker: number) => {
  const c = await RawKafkaClient.connect(cluster.bootstrap[broker]!);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 2, {
    // Two joins a few ms apart land in one generation.
    coordinatorArgs: ['--group-initial-rebalance-delay-ms', '1500'],
  });
  const admin = new Admin({ bootstrap: cluster.bootstrap });
  await admin.createTopic({ name: 'events', partitions: 2 });
  await admin.close();
  const producer = new Producer({ bootstrap: cluster.bootstrap });
  await producer.sendBatch(
    Array.from({ length: 10 }, (_, i) => ({ topic: 'events', partition: i % 2, value: `${i}` })),
  );
  await producer.close();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await registry.stopAll();
  cluster?.cleanup();
});

const subscription = encodeConsumerSubscription({
  topics: ['events'],
  userData: null,
  ownedPartitions: [],
});
const joinBody = (memberId: string) => ({
  groupId: 'raw-group',
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 10_000,
  memberId,
  groupInstanceId: null,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: subscription }],
});

describe('Kafka group APIs through the listener', () => {
  it('FindCoordinator names the broker asked (v0 and v4 batches); transactions have none', async () => {
    const c = await connect(1);
    const v0 = await c.request(FindCoordinator, 0, { key: 'raw-group' });
    const port = Number(cluster.bootstrap[1]!.split(':')[1]);
    expect(v0).toMatchObject({ errorCode: 0, nodeId: 2, host: '127.0.0.1', port });
    const v4 = await c.request(FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    expect(v4.coordinators.map((x) => [x.key, x.nodeId, x.errorCode])).toEqual([
      ['a', 2, 0],
      ['b', 2, 0],
    ]);
    const txn = await c.request(FindCoordinator, 2, { key: 'tx', keyType: 1 });
    expect(txn.errorCode).toBe(KafkaError.COORDINATOR_NOT_AVAILABLE);
  });

  it('a group of two through two brokers: join (v5 and v0), sync, heartbeat, commit, fetch, describe, leave, delete', async () => {
    const a = await connect(0);
    const b = await connect(1);
    // v4+: a first join is told its member id.
    const first = await a.request(JoinGroup, 5, joinBody(''));
    expect(first.errorCode).toBe(KafkaError.MEMBER_ID_REQUIRED);
    expect(first.memberId).toMatch(/^raw-/);
    const [ja, jb] = await Promise.all([
      a.request(JoinGroup, 5, joinBody(first.memberId)),
      b.request(JoinGroup, 0, joinBody('')), // v0: no member id required
    ]);
    expect(ja.errorCode).toBe(0);
    expect(jb.errorCode).toBe(0);
    expect(ja.generationId).toBe(1);
    expect(jb.generationId).toBe(1);
    expect(ja.protocolName).toBe('range');
    const [leader, follower, lc, fc] = ja.leader === ja.memberId ? [ja, jb, a, b] : [jb, ja, b, a];
    expect(leader.members.map((m) => m.metadata)).toEqual([subscription, subscription]);
    expect(follower.members).toEqual([]);

    const assignment = (p: number) =>
      encodeConsumerAssignment({
        partitions: [{ topic: 'events', partitions: [p] }],
        userData: null,
      });
    const followerSync = fc.request(SyncGroup, 0, {
      groupId: 'raw-group',
      generationId: 1,
      memberId: follower.memberId,
      assignments: [],
    });
    const leaderSync = await lc.request(SyncGroup, 5, {
      groupId: 'raw-group',
      generationId: 1,
      memberId: leader.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [
        { memberId: leader.memberId, assignment: assignment(0) },
        { memberId: follower.memberId, assignment: assignment(1) },
      ],
    });
    expect(leaderSync).toMatchObject({
      errorCode: 0,
      protocolType: 'consumer',
      protocolName: 'range',
    });
    expect(leaderSync.assignment).toEqual(assignment(0));
    expect((await followerSync).assignment).toEqual(assignment(1));

    const hb = (c: RawKafkaClient, memberId: string, generationId: number) =>
      c.request(Heartbeat, 3, {
        groupId: 'raw-group',
        generationId,
        memberId,
        groupInstanceId: null,
      });
    expect((await hb(lc, leader.memberId, 1)).errorCode).toBe(0);
    expect((await hb(lc, leader.memberId, 7)).errorCode).toBe(KafkaError.ILLEGAL_GENERATION);
    expect((await hb(lc, 'nobody', 1)).errorCode).toBe(KafkaError.UNKNOWN_MEMBER_ID);

    // Commits: a member's (v2, then v8 flexible), an outsider's (v0) refused while the group has members.
    const c2 = await lc.request(OffsetCommit, 2, {
      groupId: 'raw-group',
      generationIdOrMemberEpoch: 1,
      memberId: leader.memberId,
      retentionTimeMs: -1,
      topics: [
        {
          name: 'events',
          partitions: [
            { partitionIndex: 0, committedOffset: 3, committedMetadata: 'from raw' },
            { partitionIndex: 7, committedOffset: 1, committedMetadata: null },
          ],
        },
        { name: 'nope', partitions: [{ partitionIndex: 0, committedOffset: 1 }] },
      ],
    });
    expect(c2.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))).toEqual([
      0,
      KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
      KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    const c8 = await fc.request(OffsetCommit, 8, {
      groupId: 'raw-group',
      generationIdOrMemberEpoch: 1,
      memberId: follower.memberId,
      groupInstanceId: null,
      topics: [
        {
          name: 'events',
          partitions: [
            { partitionIndex: 1, committedOffset: 5, committedMetadata: '' },
            { partitionIndex: -1, committedOffset: 1, committedMetadata: '' },
          ],
        },
      ],
    });
    expect(c8.topics[0]!.partitions.map((p) => p.errorCode)).toEqual([
      0,
      KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    const outside = await a.request(OffsetCommit, 0, {
      groupId: 'raw-group',
      topics: [{ name: 'events', partitions: [{ partitionIndex: 0, committedOffset: 9 }] }],
    });
    expect(outside.topics[0]!.partitions[0]!.errorCode).toBe(KafkaError.UNKNOWN_MEMBER_ID);

    // Fetch: v1 per partition (never committed: -1), v7 every offset, v8 several groups.
    const f1 = await a.request(OffsetFetch, 1, {
      groupId: 'raw-group',
      topics: [
        { name: 'events', partitionIndexes: [0, 1] },
        { name: 'other', partitionIndexes: [0] },
      ],
    });
    expect(
      f1.topics.flatMap((t) =>
        t.partitions.map((p) => [t.name, p.partitionIndex, p.committedOffset, p.metadata]),
      ),
    ).toEqual([
      ['events', 0, 3, 'from raw'],
      ['events', 1, 5, ''],
      ['other', 0, -1, ''],
    ]);
    const f7 = await a.request(OffsetFetch, 7, {
      groupId: 'raw-group',
      topics: null,
      requireStable: true,
    });
    expect(f7.errorCode).toBe(0);
    expect(f7.topics.map((t) => [t.name, t.partitions.map((p) => p.committedOffset)])).toEqual([
      ['events', [3, 5]],
    ]);
    const f8 = await b.request(OffsetFetch, 8, {
      groups: [
        { groupId: 'raw-group', topics: [{ name: 'events', partitionIndexes: [1] }] },
        { groupId: 'no-such-group', topics: null },
      ],
      requireStable: false,
    });
    expect(f8.groups.map((g) => [g.groupId, g.errorCode, g.topics.length])).toEqual([
      ['raw-group', 0, 1],
      ['no-such-group', 0, 0],
    ]);
    expect(f8.groups[0]!.topics[0]!.partitions[0]!.committedOffset).toBe(5);
    // A negative offset (KafkaJS's resetOffsets commits -2) withdraws the committed one.
    await fc.request(OffsetCommit, 5, {
      groupId: 'raw-group',
      generationIdOrMemberEpoch: 1,
      memberId: follower.memberId,
      topics: [{ name: 'events', partitions: [{ partitionIndex: 1, committedOffset: -2 }] }],
    });
    const withdrawn = await a.request(OffsetFetch, 5, {
      groupId: 'raw-group',
      topics: [{ name: 'events', partitionIndexes: [0, 1] }],
    });
    expect(withdrawn.topics[0]!.partitions.map((p) => p.committedOffset)).toEqual([3, -1]);

    // Listing and describing, as Kafka shows them.
    const listed = await a.request(ListGroups, 4, { statesFilter: ['stable'] });
    expect(listed.groups).toContainEqual({
      groupId: 'raw-group',
      protocolType: 'consumer',
      groupState: 'Stable',
      groupType: '',
    });
    const d = await b.request(DescribeGroups, 5, {
      groups: ['raw-group', 'unknown-group', 'bad/id'],
      includeAuthorizedOperations: false,
    });
    expect(d.groups.map((g) => [g.groupId, g.errorCode, g.groupState])).toEqual([
      ['raw-group', 0, 'Stable'],
      ['unknown-group', 0, 'Dead'],
      ['bad/id', KafkaError.INVALID_GROUP_ID, 'Dead'],
    ]);
    const g = d.groups[0]!;
    expect(g).toMatchObject({ protocolType: 'consumer', protocolData: 'range' });
    const byId = new Map(g.members.map((m) => [m.memberId, m]));
    expect(byId.get(leader.memberId)).toMatchObject({ clientId: 'raw', clientHost: '/127.0.0.1' });
    expect(byId.get(leader.memberId)!.memberMetadata).toEqual(subscription);
    expect(byId.get(follower.memberId)!.memberAssignment).toEqual(assignment(1));

    // Leaving: v0 one member, v3 a batch with one unknown; then the empty group can go.
    const l0 = await fc.request(LeaveGroup, 0, {
      groupId: 'raw-group',
      memberId: follower.memberId,
    });
    expect(l0.errorCode).toBe(0);
    const l3 = await lc.request(LeaveGroup, 3, {
      groupId: 'raw-group',
      members: [
        { memberId: leader.memberId, groupInstanceId: null },
        { memberId: 'nobody', groupInstanceId: null },
      ],
    });
    expect(l3.errorCode).toBe(0);
    expect(l3.members.map((m) => m.errorCode)).toEqual([0, KafkaError.UNKNOWN_MEMBER_ID]);
    const del = await a.request(DeleteGroups, 1, { groupsNames: ['raw-group', 'raw-group'] });
    expect(del.results.map((r) => r.errorCode)).toEqual([0, KafkaError.GROUP_ID_NOT_FOUND]);
    const gone = await a.request(OffsetFetch, 7, {
      groupId: 'raw-group',
      topics: null,
      requireStable: false,
    });
    expect(gone.topics).toEqual([]);
  });

  it('refuses what is not a group id, and a JoinGroup v9 answers with skipAssignment', async () => {
    const c = await connect(0);
    const bad = await c.request(JoinGroup, 9, { ...joinBody(''), groupId: '', reason: null });
    expect(bad.errorCode).toBe(KafkaError.INVALID_GROUP_ID);
    const hb = await c.request(Heartbeat, 0, { groupId: 'a b', generationId: 1, memberId: 'x' });
    expect(hb.errorCode).toBe(KafkaError.INVALID_GROUP_ID);
    const wanted = await c.request(JoinGroup, 9, {
      ...joinBody(''),
      groupId: 'v9-group',
      reason: 'test',
    });
    expect(wanted.errorCode).toBe(KafkaError.MEMBER_ID_REQUIRED);
    const joined = await c.request(JoinGroup, 9, {
      ...joinBody(wanted.memberId),
      groupId: 'v9-group',
      reason: null,
    });
    expect(joined).toMatchObject({
      errorCode: 0,
      generationId: 1,
      skipAssignment: false,
      protocolType: 'consumer',
    });
    const left = await c.request(LeaveGroup, 5, {
      groupId: 'v9-group',
      members: [{ memberId: wanted.memberId, groupInstanceId: null, reason: 'done' }],
    });
    expect(left.members[0]!.errorCode).toBe(0);
  });
});
