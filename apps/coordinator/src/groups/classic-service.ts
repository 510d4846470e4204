import {
  CONSUMER_PROTOCOL_TYPE,
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  GroupIdSchema,
  InvalidSessionTimeoutError,
  parseRequest,
  type StrandError,
  type UnaryHandler,
  unaryHandler,
} from '@strand/wire';
import { z } from 'zod';
import type { ClassicGroup, ClassicJoinAnswer, ClassicMember } from './classic-group.js';
import type { GroupCoordinator } from './coordinator.js';

// Kafka's own bounds where it has them: group.min/max.session.timeout.ms (Strand's floor is
// lower, for tests and small clusters), offset metadata checked per partition by the store.
const SESSION_TIMEOUT = { min: 500, max: 1_800_000 };
const MAX_PROTOCOL_BYTES = 1024 * 1024;

export const int32 = z
  .number()
  .int()
  .min(-(2 ** 31))
  .max(2 ** 31 - 1);
export const memberId = z.string().max(300).default('');
export const instanceId = z
  .string()
  .max(249)
  .regex(/^[A-Za-z0-9._-]*$/, "a group instance id may hold only letters, digits, '.', '_' and '-'")
  .default('');
const bytes = z.instanceof(Buffer).refine((b) => b.length <= MAX_PROTOCOL_BYTES, {
  message: `at most ${MAX_PROTOCOL_BYTES} bytes`,
});

const JoinRequest = z.object({
  group_id: GroupIdSchema,
  member_id: memberId,
  group_instance_id: instanceId,
  client_id: z.string().max(255).default(''),
  client_host: z.string().max(255).default(''),
  session_timeout_ms: z.number().int(),
  rebalance_timeout_ms: z
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1),
  protocol_type: z.string().max(255).default(''),
  protocols: z
    .array(z.object({ name: z.string().min(1).max(255), metadata: bytes }))
    .max(64)
    .default([]),
  require_known_member_id: z.boolean().default(false),
});
const SyncRequest = z.object({
  group_id: GroupIdSchema,
  member_id: z.string().min(1, 'member_id is required').max(300),
  group_instance_id: instanceId,
  generation: int32,
  protocol_type: z.string().max(255).default(''),
  protocol: z.string().max(255).default(''),
  assignments: z
    .array(z.object({ member_id: z.string().max(300), assignment: bytes }))
    .max(100_000)
    .default([]),
});
const HeartbeatRequest = SyncRequest.pick({
  group_id: true,
  member_id: true,
  group_instance_id: true,
  generation: true,
});
const LeaveRequest = z.object({
  group_id: GroupIdSchema,
  members: z
    .array(z.object({ member_id: memberId, group_instance_id: instanceId }))
    .min(1)
    .max(10_000),
});
const resultError = (e: StrandError | undefined) =>
  e ? { code: e.code, message: e.message } : { code: '', message: '' };

const joinOut = (a: ClassicJoinAnswer) => ({
  generation: a.generation,
  member_id: a.memberId,
  leader_id: a.leaderId,
  protocol_type: a.protocolType,
  protocol: a.protocol,
  members: a.members.map((m) => ({
    member_id: m.memberId,
    group_instance_id: m.instanceId,
    metadata: m.metadata,
  })),
  skip_assignment: a.skipAssignment,
});

/** A Kafka member for DescribeGroup; a "consumer" one's subscription and assignment are read out. */
export function classicMemberOut(g: ClassicGroup, m: ClassicMember) {
  const metadata = g.metadataOf(m);
  const consumer = g.protocolType === CONSUMER_PROTOCOL_TYPE;
  const sub = consumer ? decodeConsumerSubscription(metadata) : undefined;
  const assigned = consumer ? decodeConsumerAssignment(m.assignment) : undefined;
  return {
    member_id: m.memberId,
    group_instance_id: m.instanceId,
    client_id: m.clientId,
    client_host: m.clientHost,
    subscription: { topics: sub?.topics ?? [], pattern: '', pattern_flags: '' },
    assignment: assigned?.partitions ?? [],
    protocol_metadata: metadata,
    protocol_assignment: m.assignment,
  };
}

/** The Classic* calls of the group service: Kafka clients' requests, forwarded by brokers. */
export function classicHandlers(groups: GroupCoordinator): Record<string, UnaryHandler> {
  return {
    ClassicJoinGroup: unaryHandler(async (raw) => {
      const r = parseRequest(JoinRequest, raw);
      if (r.session_timeout_ms < SESSION_TIMEOUT.min || r.session_timeout_ms > SESSION_TIMEOUT.max)
        throw new InvalidSessionTimeoutError(
          `session timeout ${r.session_timeout_ms} ms is outside ${SESSION_TIMEOUT.min}..${SESSION_TIMEOUT.max} ms`,
        );
      const a = await groups.classicJoin(r.group_id, {
        memberId: r.member_id,
        instanceId: r.group_instance_id,
        clientId: r.client_id,
        clientHost: r.client_host,
        sessionTimeoutMs: r.session_timeout_ms,
        rebalanceTimeoutMs: r.rebalance_timeout_ms,
        protocolType: r.protocol_type,
        protocols: r.protocols,
        requireKnownMemberId: r.require_known_member_id,
      });
      return joinOut(a);
    }),
    ClassicSyncGroup: unaryHandler(async (raw) => {
      const r = parseRequest(SyncRequest, raw);
      const a = await groups.classicSync(r.group_id, {
        memberId: r.member_id,
        instanceId: r.group_instance_id,
        generation: r.generation,
        protocolType: r.protocol_type,
        protocol: r.protocol,
        assignments: new Map(r.assignments.map((x) => [x.member_id, x.assignment])),
      });
      return { protocol_type: a.protocolType, protocol: a.protocol, assignment: a.assignment };
    }),
    ClassicHeartbeat: unaryHandler(async (raw) => {
      const r = parseRequest(HeartbeatRequest, raw);
      await groups.classicHeartbeat(r.group_id, r.member_id, r.group_instance_id, r.generation);
      return {};
    }),
    ClassicLeaveGroup: unaryHandler(async (raw) => {
      const r = parseRequest(LeaveRequest, raw);
      const results = await groups.classicLeave(
        r.group_id,
        r.members.map((m) => ({ memberId: m.member_id, instanceId: m.group_instance_id })),
      );
      return { members: results.map(resultError) };
    }),
  };
}
