import { kafkaErrorCode, OffsetForLeaderEpoch } from '@strand/kafka-protocol';
import { handler } from '../handler.js';

/**
 * Where a leader epoch ends in the leader's log (KIP-320: a consumer that saw records of an
 * epoch checks, after a leader change, that the log still has them). current_leader_epoch -1
 * skips the fence check, as in Kafka.
 */
export const offsetForLeaderEpoch = handler(OffsetForLeaderEpoch, {
  authorization: {
    topics: {
      kind: 'offsetForLeaderEpoch',
      request: { list: 'topics', name: 'topic', partitions: 'partitions', index: 'partition' },
      response: { list: 'topics', name: 'topic', partitions: 'partitions', index: 'partition' },
      refused: { leaderEpoch: -1, endOffset: -1 },
    },
  },
  async handle(req, { deps }) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          try {
            const r = deps.data.epochEnd(t.topic, p.partition, p.leaderEpoch, p.currentLeaderEpoch);
            return {
              errorCode: 0,
              partition: p.partition,
              leaderEpoch: r.leader_epoch,
              endOffset: r.end_offset,
            };
          } catch (err) {
            return {
              errorCode: kafkaErrorCode(err),
              partition: p.partition,
              leaderEpoch: -1,
              endOffset: -1,
            };
          }
        }),
      })),
    };
  },
});
