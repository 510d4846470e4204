import { KafkaError, kafkaErrorCode, ListOffsets } from '@strand/kafka-protocol';
import { handler } from '../handler.js';

/** Kafka's special timestamps in ListOffsets. */
const LATEST = -1;
const EARLIEST = -2;

/**
 * ListOffsets: earliest (-2), latest (-1: the high watermark) or the first offset whose record
 * is at least as new as a timestamp (none: -1). The leader epoch is the partition's current one.
 */
export const listOffsets = handler(ListOffsets, {
  authorization: {
    topics: {
      kind: 'listOffsets',
      request: { list: 'topics', name: 'name', partitions: 'partitions', index: 'partitionIndex' },
      response: { list: 'topics', name: 'name', partitions: 'partitions', index: 'partitionIndex' },
      refused: { timestamp: -1, offset: -1, leaderEpoch: -1 },
    },
  },
  async handle(req, { deps }) {
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p) => {
            const base = {
              partitionIndex: p.partitionIndex,
              timestamp: -1,
              offset: -1,
              leaderEpoch: -1,
            };
            if (p.timestamp < EARLIEST) return { ...base, errorCode: KafkaError.INVALID_REQUEST };
            try {
              const spec =
                p.timestamp === LATEST
                  ? 'LATEST'
                  : p.timestamp === EARLIEST
                    ? 'EARLIEST'
                    : 'TIMESTAMP';
              const r = await deps.data.listOffset(t.name, p.partitionIndex, spec, p.timestamp);
              const leaderEpoch = deps.meta.partition(t.name, p.partitionIndex)?.leaderEpoch ?? -1;
              if (spec === 'TIMESTAMP' && !r.found) return { ...base, errorCode: 0, leaderEpoch };
              return {
                ...base,
                errorCode: 0,
                offset: r.offset,
                timestamp: spec === 'TIMESTAMP' ? p.timestamp : -1,
                leaderEpoch,
              };
            } catch (err) {
              return { ...base, errorCode: kafkaErrorCode(err) };
            }
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});
