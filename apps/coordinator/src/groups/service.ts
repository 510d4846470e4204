import type * as grpc from '@grpc/grpc-js';
import {
  GroupIdSchema,
  groupService,
  InvalidRequestError,
  parseRequest,
  TopicNameSchema,
  unaryHandler,
} from '@strand/wire';
import { z } from 'zod';
import { ASSIGNORS, type AssignorName, type TopicPartition } from './assignors.js';
import { ClassicGroup } from './classic-group.js';
import { classicHandlers, classicMemberOut } from './classic-service.js';
import {
  type CommitAccess,
  CommitRequest,
  commitHandlers,
  OPEN_COMMITS,
} from './commit-service.js';
import type { AnyGroup, GroupCoordinator, StoredOffset } from './coordinator.js';
import type { Subscription } from './group.js';
import { compilePattern, MAX_PATTERN_LENGTH } from './pattern.js';

const u32 = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);
const partition = z.number().int().min(0).max(1_000_000);

const SubscriptionSchema = z
  .object({
    topics: z.array(TopicNameSchema).max(10_000).default([]),
    pattern: z.string().max(MAX_PATTERN_LENGTH).default(''),
    pattern_flags: z
      .string()
      .regex(/^[imsu]*$/, 'pattern flags may only be i, m, s and u')
      .default(''),
  })
  .superRefine((s, ctx) => {
    if (s.topics.length === 0 && !s.pattern)
      ctx.addIssue({ code: 'custom', message: 'subscribe to at least one topic or a pattern' });
    if (s.pattern) {
      try {
        compilePattern(s.pattern, s.pattern_flags);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['pattern'], message: (err as Error).message });
      }
    }
  });

const JoinRequest = z.object({
  group_id: GroupIdSchema,
  member_id: z.string().max(300).default(''),
  group_instance_id: z.string().max(249).default(''),
  client_id: z.string().max(255).default(''),
  session_timeout_ms: z.number().int().min(500).max(600_000),
  rebalance_timeout_ms: z.number().int().min(500).max(600_000),
  subscription: SubscriptionSchema,
  assignors: z
    .array(z.enum(ASSIGNORS as [AssignorName, ...AssignorName[]]))
    .min(1, 'name at least one assignor (range, round-robin, cooperative-sticky)'),
});
const MemberRequest = z.object({
  group_id: GroupIdSchema,
  member_id: z.string().min(1, 'member_id is required').max(300),
  generation: u32,
});
const LeaveRequest = MemberRequest.omit({ generation: true });
const TopicPartitionsSchema = z.object({
  topic: TopicNameSchema,
  partitions: z.array(partition).default([]),
});
const FetchRequest = z.object({
  group_id: GroupIdSchema,
  partitions: z.array(TopicPartitionsSchema).default([]),
});
const GroupRequest = z.object({ group_id: GroupIdSchema });

/** [{topic, partition}] grouped per topic, as the proto carries them. */
export function byTopic(tps: TopicPartition[]): { topic: string; partitions: number[] }[] {
  const m = new Map<string, number[]>();
  for (const tp of tps) m.set(tp.topic, [...(m.get(tp.topic) ?? []), tp.partition]);
  return [...m].map(([topic, partitions]) => ({ topic, partitions }));
}

const subscriptionOut = (s: Subscription) => ({
  topics: s.topics,
  pattern: s.pattern,
  pattern_flags: s.patternFlags,
});

const summary = (g: AnyGroup) => ({
  group_id: g.id,
  state: g.state,
  protocol: g.protocol,
  generation: g.generation,
  members: g.members.size,
  protocol_type: g instanceof ClassicGroup ? g.protocolType : '',
});

function membersOut(g: AnyGroup) {
  if (g instanceof ClassicGroup) return [...g.members.values()].map((m) => classicMemberOut(g, m));
  return [...g.members.values()].map((m) => ({
    member_id: m.memberId,
    group_instance_id: m.instanceId,
    client_id: m.clientId,
    subscription: subscriptionOut(m.subscription),
    assignment: byTopic(m.assignment),
  }));
}

const offsetOut = (o: StoredOffset) => ({
  topic: o.topic,
  partition: o.partition,
  offset: o.offset,
  metadata: o.metadata,
  commit_timestamp: o.commitTimestamp,
});

/** The group coordinator's gRPC face; every request is validated before it is used. */
export function addGroupService(
  server: grpc.Server,
  groups: GroupCoordinator,
  commits: CommitAccess = OPEN_COMMITS,
): void {
  server.addService(groupService('GroupCoordinator').service, {
    JoinGroup: unaryHandler(async (raw) => {
      const r = parseRequest(JoinRequest, raw);
      if (r.rebalance_timeout_ms < r.session_timeout_ms / 10)
        throw new InvalidRequestError('rebalance_timeout_ms is implausibly small');
      const a = await groups.join(r.group_id, {
        memberId: r.member_id,
        instanceId: r.group_instance_id,
        clientId: r.client_id,
        sessionTimeoutMs: r.session_timeout_ms,
        rebalanceTimeoutMs: r.rebalance_timeout_ms,
        subscription: {
          topics: [...new Set(r.subscription.topics)].sort(),
          pattern: r.subscription.pattern,
          patternFlags: r.subscription.pattern_flags,
        },
        assignors: [...new Set(r.assignors)],
      });
      return {
        generation: a.generation,
        member_id: a.memberId,
        leader_id: a.leaderId,
        protocol: a.protocol,
        members: a.members,
      };
    }),
    SyncGroup: unaryHandler(async (raw) => {
      const r = parseRequest(MemberRequest, raw);
      return { assignment: byTopic(await groups.sync(r.group_id, r.member_id, r.generation)) };
    }),
    Heartbeat: unaryHandler(async (raw) => {
      const r = parseRequest(MemberRequest, raw);
      await groups.heartbeat(r.group_id, r.member_id, r.generation);
      return {};
    }),
    LeaveGroup: unaryHandler(async (raw) => {
      const r = parseRequest(LeaveRequest, raw);
      await groups.leave(r.group_id, r.member_id);
      return {};
    }),
    ResetOffsets: unaryHandler(async (raw) => {
      const r = parseRequest(CommitRequest, raw);
      await groups.resetOffsets(r.group_id, r.offsets);
      return {};
    }),
    FetchOffsets: unaryHandler(async (raw) => {
      const r = parseRequest(FetchRequest, raw);
      const only = r.partitions.flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.topic, partition: p })),
      );
      return { offsets: (await groups.fetchOffsets(r.group_id, only)).map(offsetOut) };
    }),
    ListGroups: unaryHandler(async () => ({
      groups: (await groups.listGroups()).map(summary),
    })),
    DescribeGroup: unaryHandler(async (raw) => {
      const g = await groups.describeGroup(parseRequest(GroupRequest, raw).group_id);
      return { group: summary(g), leader_id: g.leader, members: membersOut(g) };
    }),
    DeleteGroup: unaryHandler(async (raw) => {
      await groups.deleteGroup(parseRequest(GroupRequest, raw).group_id);
      return {};
    }),
    ...classicHandlers(groups),
    ...commitHandlers(groups, commits),
  });
}
