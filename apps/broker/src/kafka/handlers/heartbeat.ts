import { Heartbeat, KafkaError } from '@strand/kafka-protocol';
import { groupRead } from '../authorize.js';
import { handler } from '../handler.js';
import { callGroups, groupErrorCode, isGroupId } from './groups-common.js';

/** Heartbeat, forwarded: REBALANCE_IN_PROGRESS tells a member to join again. */
export const heartbeat = handler(Heartbeat, {
  authorization: groupRead('heartbeat'),
  async handle(req, ctx) {
    if (!isGroupId(req.groupId))
      return { throttleTimeMs: 0, errorCode: KafkaError.INVALID_GROUP_ID };
    try {
      await callGroups(ctx, 'ClassicHeartbeat', {
        group_id: req.groupId,
        member_id: req.memberId,
        group_instance_id: req.groupInstanceId ?? '',
        generation: req.generationId,
      });
      return { throttleTimeMs: 0, errorCode: KafkaError.NONE };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: groupErrorCode(err) };
    }
  },
});
