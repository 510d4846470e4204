import { JoinGroup, KafkaError, type KafkaErrorCode } from '@strand/kafka-protocol';
import { MemberIdRequiredError } from '@strand/wire';
import { groupRead } from '../authorize.js';
import { handler } from '../handler.js';
import { callGroups, groupErrorCode, isGroupId } from './groups-common.js';

/** The group coordinator's ClassicJoinGroup answer, as group.proto has it. */
export interface ClassicJoinAnswer {
  generation: number;
  member_id: string;
  leader_id: string;
  protocol_type: string;
  protocol: string;
  members: { member_id: string; group_instance_id: string; metadata: Buffer }[];
  skip_assignment: boolean;
}

/**
 * JoinGroup, forwarded to the group coordinator; the answer waits for the rebalance (up to
 * the rebalance timeout), as Kafka's does. Later requests on the connection are read and
 * handled meanwhile, but answered after it: Kafka's clients put nothing else behind a join.
 */
export const joinGroup = handler(JoinGroup, {
  authorization: groupRead('joinGroup'),
  async handle(req, ctx) {
    const v = ctx.header.apiVersion;
    const fail = (errorCode: KafkaErrorCode, memberId = req.memberId) => ({
      throttleTimeMs: 0,
      errorCode,
      generationId: -1,
      protocolName: v >= 7 ? null : '',
      leader: '',
      memberId,
      members: [],
    });
    if (!isGroupId(req.groupId)) return fail(KafkaError.INVALID_GROUP_ID);
    // v0 has no rebalance timeout: the session timeout is both.
    const rebalanceTimeoutMs =
      req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs;
    try {
      const a = await callGroups<ClassicJoinAnswer>(
        ctx,
        'ClassicJoinGroup',
        {
          group_id: req.groupId,
          member_id: req.memberId,
          group_instance_id: req.groupInstanceId ?? '',
          client_id: ctx.header.clientId ?? '',
          client_host: ctx.clientHost,
          session_timeout_ms: req.sessionTimeoutMs,
          rebalance_timeout_ms: rebalanceTimeoutMs,
          protocol_type: req.protocolType,
          protocols: req.protocols,
          require_known_member_id: v >= 4,
        },
        Math.max(rebalanceTimeoutMs, 0),
      );
      return {
        throttleTimeMs: 0,
        errorCode: KafkaError.NONE,
        generationId: a.generation,
        protocolType: a.protocol_type,
        protocolName: a.protocol,
        leader: a.leader_id,
        skipAssignment: a.skip_assignment,
        memberId: a.member_id,
        members: a.members.map((m) => ({
          memberId: m.member_id,
          groupInstanceId: m.group_instance_id || null,
          metadata: m.metadata,
        })),
      };
    } catch (err) {
      return fail(
        groupErrorCode(err),
        err instanceof MemberIdRequiredError ? err.memberId : req.memberId,
      );
    }
  },
});
