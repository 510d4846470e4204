import { onResource } from '@strand/auth';
import { KafkaError, OffsetCommit } from '@strand/kafka-protocol';
import { handler } from '../handler.js';
import { callGroups, groupErrorCode, isGroupId, resultCode } from './groups-common.js';

/**
 * OffsetCommit, forwarded: the offsets become the same KV records the Strand SDK commits
 * (with their metadata strings). v0 commits from outside any group (generation -1, as later
 * versions say it); v1's per-partition commit timestamps are kept; v2–4's retention times are
 * not, since committed offsets stay until their group is deleted. A negative offset withdraws
 * the committed one (see the group service).
 */
export const offsetCommit = handler(OffsetCommit, {
  // Read on the group (else every partition GROUP_AUTHORIZATION_FAILED), then on each topic.
  authorization: {
    whole: (req) => [onResource('commitOffsets', 'group', req.groupId)],
    refuse: (req, errorCode) => ({
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      })),
    }),
    topics: {
      kind: 'commitOffsets',
      request: { list: 'topics', name: 'name', partitions: 'partitions', index: 'partitionIndex' },
      response: { list: 'topics', name: 'name', partitions: 'partitions', index: 'partitionIndex' },
    },
  },
  async handle(req, ctx) {
    const v = ctx.header.apiVersion;
    const parts = req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, p })));
    // No topic has a negative partition: answered here, the others go on.
    const valid = parts.map(({ p }) => p.partitionIndex >= 0);
    const answer = (codeAt: (i: number) => number) => {
      let i = 0;
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: codeAt(i++),
          })),
        })),
      };
    };
    if (!isGroupId(req.groupId)) return answer(() => KafkaError.INVALID_GROUP_ID);
    const sent = parts.filter((_, i) => valid[i]);
    try {
      const r = await callGroups<{ offsets: { code: string; message: string }[] }>(
        ctx,
        'ClassicCommitOffsets',
        {
          group_id: req.groupId,
          member_id: v >= 1 ? req.memberId : '',
          group_instance_id: req.groupInstanceId ?? '',
          generation: v >= 1 ? req.generationIdOrMemberEpoch : -1,
          offsets: sent.map(({ topic, p }) => ({
            topic,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            metadata: p.committedMetadata ?? '',
            commit_timestamp: v === 1 && p.commitTimestamp > 0 ? p.commitTimestamp : 0,
          })),
        },
      );
      const codes: number[] = [];
      let j = 0;
      for (const ok of valid) {
        const res = ok ? r.offsets[j++] : undefined;
        codes.push(ok ? resultCode(res) : KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
      }
      return answer((i) => codes[i] ?? KafkaError.NONE);
    } catch (err) {
      const code = groupErrorCode(err);
      return answer(() => code);
    }
  },
});
