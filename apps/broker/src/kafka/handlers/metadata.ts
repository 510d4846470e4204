import { onResource } from '@strand/auth';
import {
  KafkaError,
  type KafkaErrorCode,
  kafkaErrorCode,
  Metadata,
  type ResponseOf,
} from '@strand/kafka-protocol';
import { checkTopicName, NO_LEADER, type TopicRecord } from '@strand/wire';
import { type KafkaDeps, kafkaEndpoint } from '../deps.js';
import { handler } from '../handler.js';

type TopicOut = ResponseOf<typeof Metadata>['topics'][number];

/**
 * Every live broker, and for each topic asked for (or all) its partitions with their leader,
 * leader epoch, replicas and ISR as the metadata records hold them. An unknown topic is
 * created with the broker's defaults when the broker and the client allow it.
 */
export const metadata = handler(Metadata, {
  // Topics one may not describe are left out of a listing and refused by name (Kafka's).
  authorization: { inHandler: true },
  async handle(req, ctx) {
    const { deps, header } = ctx;
    const { meta } = deps;
    // v0: an empty list means every topic; later versions say so with null.
    const asked = (req.topics ?? []).map((t) => t.name ?? '');
    const all = req.topics === null || (header.apiVersion === 0 && asked.length === 0);
    await deps.admin.catchUp(asked);
    const describable = (name: string) => ctx.may(onResource('metadata', 'topic', name), !all);
    const names = all ? [...meta.topics.keys()].sort().filter(describable) : asked;
    const mayCreate =
      deps.config.autoCreateTopics && (header.apiVersion < 4 || req.allowAutoTopicCreation);
    const topics = await Promise.all(
      names.map(async (name) => {
        if (!all && !describable(name)) return missing(name, KafkaError.TOPIC_AUTHORIZATION_FAILED);
        if (
          !meta.topics.has(name) &&
          mayCreate &&
          ctx.may(onResource('createTopic', 'topic', name), true)
        ) {
          const failed = await autoCreate(deps, name);
          if (failed !== undefined) return missing(name, failed);
        }
        const t = meta.topics.get(name);
        return t ? topicOut(deps, t) : missing(name, KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
      }),
    );
    return {
      throttleTimeMs: 0,
      brokers: [...meta.brokers.values()]
        .filter((b) => !b.fenced)
        .sort((a, b) => a.id - b.id)
        .map((b) => ({ nodeId: b.id, ...kafkaEndpoint(b), rack: b.rack || null })),
      clusterId: deps.clusterId,
      // Every broker forwards admin requests to the controller, so the one answering will do.
      controllerId: deps.brokerId,
      topics,
    };
  },
});

function missing(name: string, errorCode: KafkaErrorCode): Partial<TopicOut> {
  return { errorCode, name, partitions: [] };
}

/** Creates `name` with the broker defaults; an error code when it could not be. */
async function autoCreate(deps: KafkaDeps, name: string): Promise<KafkaErrorCode | undefined> {
  try {
    checkTopicName(name);
  } catch {
    return KafkaError.INVALID_TOPIC_EXCEPTION;
  }
  try {
    await deps.admin.forward('CreateTopic', {
      name,
      partitions: deps.config.defaultPartitions,
      replication_factor: deps.config.defaultReplicationFactor,
      configs: {},
    });
  } catch (err) {
    // Created meanwhile by someone else: fine; anything else is reported for the topic.
    if (!deps.meta.topics.has(name)) {
      deps.log(
        { topic: name, reason: (err as Error).message },
        'kafka: auto-creating a topic failed',
      );
      return kafkaErrorCode(err);
    }
  }
  return undefined;
}

function topicOut(deps: KafkaDeps, t: TopicRecord): Partial<TopicOut> {
  const live = (id: number) => {
    const b = deps.meta.brokers.get(id);
    return b !== undefined && !b.fenced;
  };
  const parts = [...(deps.meta.partitions.get(t.name)?.values() ?? [])].sort(
    (a, b) => a.partition - b.partition,
  );
  return {
    errorCode: 0,
    name: t.name,
    topicId: t.id,
    isInternal: false,
    partitions: parts.map((p) => ({
      errorCode: p.leader === NO_LEADER ? KafkaError.LEADER_NOT_AVAILABLE : 0,
      partitionIndex: p.partition,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: p.replicas,
      isrNodes: p.isr,
      offlineReplicas: p.replicas.filter((r) => !live(r)),
    })),
  };
}
