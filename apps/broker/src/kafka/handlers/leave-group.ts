import { KafkaError, LeaveGroup } from '@strand/kafka-protocol';
import { groupRead } from '../authorize.js';
import { handler } from '../handler.js';
import { callGroups, groupErrorCode, isGroupId, resultCode } from './groups-common.js';

/** LeaveGroup, forwarded: one member (v0–2) or several at once, each answered (v3+). */
export const leaveGroup = handler(LeaveGroup, {
  authorization: groupRead('leaveGroup'),
  async handle(req, ctx) {
    const batch = ctx.header.apiVersion >= 3;
    const who = batch
      ? req.members.map((m) => ({ memberId: m.memberId, instanceId: m.groupInstanceId ?? '' }))
      : [{ memberId: req.memberId, instanceId: '' }];
    const out = (errorCode: number, codes: number[] = []) => ({
      throttleTimeMs: 0,
      errorCode,
      members: batch
        ? who.map((w, i) => ({
            memberId: w.memberId,
            groupInstanceId: w.instanceId || null,
            errorCode: codes[i] ?? KafkaError.NONE,
          }))
        : [],
    });
    if (!isGroupId(req.groupId)) return out(KafkaError.INVALID_GROUP_ID);
    try {
      const r = await callGroups<{ members: { code: string; message: string }[] }>(
        ctx,
        'ClassicLeaveGroup',
        {
          group_id: req.groupId,
          members: who.map((w) => ({ member_id: w.memberId, group_instance_id: w.instanceId })),
        },
      );
      const codes = r.members.map(resultCode);
      // Before v3 the one member's answer is the request's.
      return batch ? out(KafkaError.NONE, codes) : out(codes[0] ?? KafkaError.NONE);
    } catch (err) {
      return out(groupErrorCode(err));
    }
  },
});
