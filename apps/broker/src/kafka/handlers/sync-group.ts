import { KafkaError, type KafkaErrorCode, SyncGroup } from '@strand/kafka-protocol';
import { groupRead } from '../authorize.js';
import { handler } from '../handler.js';
import { callGroups, groupErrorCode, isGroupId, SYNC_WAIT_MS } from './groups-common.js';

/**
 * SyncGroup, forwarded: the leader's carries every member's assignment; every member's answer
 * waits for the leader's (an unassigned member gets an empty assignment).
 */
export const syncGroup = handler(SyncGroup, {
  authorization: groupRead('syncGroup'),
  async handle(req, ctx) {
    const fail = (errorCode: KafkaErrorCode) => ({
      throttleTimeMs: 0,
      errorCode,
      protocolType: null,
      protocolName: null,
      assignment: Buffer.alloc(0),
    });
    if (!isGroupId(req.groupId)) return fail(KafkaError.INVALID_GROUP_ID);
    try {
      const a = await callGroups<{ protocol_type: string; protocol: string; assignment: Buffer }>(
        ctx,
        'ClassicSyncGroup',
        {
          group_id: req.groupId,
          member_id: req.memberId,
          group_instance_id: req.groupInstanceId ?? '',
          generation: req.generationId,
          protocol_type: req.protocolType ?? '',
          protocol: req.protocolName ?? '',
          assignments: req.assignments.map((x) => ({
            member_id: x.memberId,
            assignment: x.assignment,
          })),
        },
        SYNC_WAIT_MS,
      );
      return {
        throttleTimeMs: 0,
        errorCode: KafkaError.NONE,
        protocolType: a.protocol_type,
        protocolName: a.protocol,
        assignment: a.assignment,
      };
    } catch (err) {
      return fail(groupErrorCode(err));
    }
  },
});
