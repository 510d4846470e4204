import { onResource } from '@strand/auth';
import { DeleteGroups, KafkaError } from '@strand/kafka-protocol';
import { handler } from '../handler.js';
import { callGroups, groupErrorCode, isGroupId } from './groups-common.js';

/** DeleteGroups: a group without members goes with its committed offsets (NON_EMPTY_GROUP otherwise). */
export const deleteGroups = handler(DeleteGroups, {
  authorization: { inHandler: true },
  async handle(req, ctx) {
    const results = [];
    // One after the other, as named (a name given twice is deleted once).
    for (const groupId of req.groupsNames) {
      if (!isGroupId(groupId)) {
        results.push({ groupId, errorCode: KafkaError.INVALID_GROUP_ID });
        continue;
      }
      if (!ctx.may(onResource('deleteGroup', 'group', groupId), true)) {
        results.push({ groupId, errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED });
        continue;
      }
      try {
        await callGroups(ctx, 'DeleteGroup', { group_id: groupId });
        results.push({ groupId, errorCode: KafkaError.NONE });
      } catch (err) {
        results.push({ groupId, errorCode: groupErrorCode(err) });
      }
    }
    return { throttleTimeMs: 0, results };
  },
});
