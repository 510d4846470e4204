import { onResource } from '@strand/auth';
import { KafkaError, OffsetFetch } from '@strand/kafka-protocol';
import { TopicNameSchema } from '@strand/wire';
import { handler, type KafkaContext } from '../handler.js';
import { callGroups, groupErrorCode, isGroupId } from './groups-common.js';

interface Asked {
  name: string;
  partitionIndexes: number[];
}

interface StoredOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string;
}

/**
 * OffsetFetch: a group's committed offsets, as the Strand SDK's groups keep them; a partition
 * never committed reads as -1. Topics null (v2+): every offset the group has. v8+ asks for
 * several groups at once.
 */
export const offsetFetch = handler(OffsetFetch, {
  // Describe on the group, then offsets of the topics one may describe only.
  authorization: { inHandler: true },
  async handle(req, ctx) {
    const v = ctx.header.apiVersion;
    if (v >= 8)
      return {
        throttleTimeMs: 0,
        groups: await Promise.all(
          req.groups.map(async (g) => ({
            groupId: g.groupId,
            ...(await fetchGroup(ctx, g.groupId, g.topics)),
          })),
        ),
      };
    const r = await fetchGroup(ctx, req.groupId, req.topics);
    if (v >= 2) return { throttleTimeMs: 0, ...r };
    // v1 has no group-level error: each partition carries it.
    return {
      topics: r.topics.map((t) => ({
        ...t,
        partitions: t.partitions.map((p) => ({ ...p, errorCode: p.errorCode || r.errorCode })),
      })),
    };
  },
});

async function fetchGroup(ctx: KafkaContext, groupId: string, topics: Asked[] | null) {
  const none = (errorCode: number) => ({
    errorCode,
    topics: (topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => ({
        partitionIndex,
        committedOffset: -1,
        metadata: '',
        errorCode: KafkaError.NONE,
      })),
    })),
  });
  if (!isGroupId(groupId)) return none(KafkaError.INVALID_GROUP_ID);
  if (!ctx.may(onResource('fetchOffsets', 'group', groupId), true))
    return none(KafkaError.GROUP_AUTHORIZATION_FAILED);
  const wanted = (topics ?? []).flatMap((t) =>
    t.partitionIndexes.map((partition) => ({ topic: t.name, partition })),
  );
  if (topics !== null && wanted.length === 0) return none(KafkaError.NONE);
  let stored: StoredOffset[];
  try {
    const r = await callGroups<{ offsets: StoredOffset[] }>(ctx, 'FetchOffsets', {
      group_id: groupId,
      partitions: (topics ?? [])
        .filter((t) => TopicNameSchema.safeParse(t.name).success) // no other name has offsets
        .map((t) => ({ topic: t.name, partitions: t.partitionIndexes.filter((p) => p >= 0) })),
    });
    stored = r.offsets;
  } catch (err) {
    return none(groupErrorCode(err));
  }
  const describable = (topic: string) => ctx.may(onResource('fetchOffsets', 'topic', topic));
  stored = stored.filter((o) => describable(o.topic));
  const found = new Map(stored.map((o) => [`${o.topic}/${o.partition}`, o]));
  const asked: Asked[] =
    topics ??
    [...new Set(stored.map((o) => o.topic))].map((name) => ({
      name,
      partitionIndexes: stored.filter((o) => o.topic === name).map((o) => o.partition),
    }));
  return {
    errorCode: KafkaError.NONE,
    topics: asked.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => {
        const o = found.get(`${t.name}/${partitionIndex}`);
        return {
          partitionIndex,
          committedOffset: o?.offset ?? -1,
          metadata: o?.metadata ?? '',
          errorCode: describable(t.name) ? KafkaError.NONE : KafkaError.TOPIC_AUTHORIZATION_FAILED,
        };
      }),
    })),
  };
}
