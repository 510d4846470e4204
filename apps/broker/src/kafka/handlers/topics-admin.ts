import { onResource, type RequestKind } from '@strand/auth';
import {
  CreatePartitions,
  CreateTopics,
  DeleteTopics,
  KafkaError,
  type KafkaErrorCode,
  kafkaErrorCode,
  kafkaErrorMessage,
} from '@strand/kafka-protocol';
import { checkTopicConfigs, checkTopicName, ErrorCode, MAX_PARTITIONS } from '@strand/wire';
import type { KafkaDeps } from '../deps.js';
import { handler, type KafkaContext } from '../handler.js';
import { topicConfigEntries } from './configs.js';

/** A topic-level failure, with Kafka's code for it. */
class TopicProblem extends Error {
  constructor(
    readonly errorCode: KafkaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const codeOf = (err: unknown): KafkaErrorCode =>
  err instanceof TopicProblem
    ? err.errorCode
    : kafkaErrorCode(err, { [ErrorCode.InvalidRequest]: KafkaError.INVALID_REQUEST });

function checkName(name: string): void {
  try {
    checkTopicName(name);
  } catch (err) {
    throw new TopicProblem(KafkaError.INVALID_TOPIC_EXCEPTION, (err as Error).message);
  }
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS)
    throw new TopicProblem(
      KafkaError.INVALID_PARTITIONS,
      `partitions must be an integer in 1..${MAX_PARTITIONS}, got ${n}`,
    );
}

/** Refuses a topic the principal may not `kind` (TOPIC_AUTHORIZATION_FAILED for it alone). */
function authorized(may: KafkaContext['may'], kind: RequestKind, name: string): void {
  if (!may(onResource(kind, 'topic', name), true))
    throw new TopicProblem(
      KafkaError.TOPIC_AUTHORIZATION_FAILED,
      `may not ${kind} topic "${name}"`,
    );
}

const liveBrokers = (deps: KafkaDeps) =>
  [...deps.meta.brokers.values()].filter((b) => !b.fenced).length;

/**
 * CreateTopics through the controller (answered once this broker's metadata has the topic).
 * -1 partitions or replication factor take the broker's defaults; replica assignments are not
 * taken (placement is the controller's). validate_only checks everything and creates nothing.
 */
export const createTopics = handler(CreateTopics, {
  // Create on each topic (or on the cluster), answered per topic.
  authorization: { inHandler: true },
  async handle(req, { deps, may }) {
    const topics = await Promise.all(
      req.topics.map(async (t) => {
        const numPartitions =
          t.numPartitions === -1 ? deps.config.defaultPartitions : t.numPartitions;
        const replicationFactor =
          t.replicationFactor === -1 ? deps.config.defaultReplicationFactor : t.replicationFactor;
        try {
          checkName(t.name);
          authorized(may, 'createTopic', t.name);
          if (t.assignments.length > 0)
            throw new TopicProblem(
              KafkaError.INVALID_REPLICA_ASSIGNMENT,
              'replica assignments are not taken: the controller places replicas',
            );
          checkCount(numPartitions);
          const configs: Record<string, string> = {};
          for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
          checkTopicConfigs(configs);
          if (req.validateOnly) {
            if (deps.meta.topics.has(t.name))
              throw new TopicProblem(
                KafkaError.TOPIC_ALREADY_EXISTS,
                `topic "${t.name}" already exists`,
              );
            if (replicationFactor < 1 || replicationFactor > liveBrokers(deps))
              throw new TopicProblem(
                KafkaError.INVALID_REPLICATION_FACTOR,
                `replication factor ${replicationFactor} with ${liveBrokers(deps)} live broker(s)`,
              );
          } else {
            if (replicationFactor < 1)
              throw new TopicProblem(
                KafkaError.INVALID_REPLICATION_FACTOR,
                'replication factor must be at least 1',
              );
            await deps.admin.forward('CreateTopic', {
              name: t.name,
              partitions: numPartitions,
              replication_factor: replicationFactor,
              configs,
            });
          }
          const created = deps.meta.topics.get(t.name);
          return {
            name: t.name,
            topicId: created?.id,
            errorCode: 0,
            errorMessage: null,
            numPartitions,
            replicationFactor,
            configs: topicConfigEntries(created?.configs ?? configs, null).map((c) => ({
              name: c.name,
              value: c.value,
              readOnly: false,
              configSource: c.configSource,
              isSensitive: false,
            })),
          };
        } catch (err) {
          return {
            name: t.name,
            errorCode: codeOf(err),
            errorMessage: kafkaErrorMessage(err),
            configs: null,
          };
        }
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});

/** DeleteTopics by name (v0-5) or by name or id (v6). */
export const deleteTopics = handler(DeleteTopics, {
  authorization: { inHandler: true },
  async handle(req, { deps, may }) {
    const asked = [
      ...req.topicNames.map((name) => ({
        name: name as string | null,
        topicId: undefined as string | undefined,
      })),
      ...req.topics.map((t) => ({ name: t.name, topicId: t.topicId })),
    ];
    const responses = await Promise.all(
      asked.map(async (a) => {
        const name =
          a.name ?? [...deps.meta.topics.values()].find((t) => t.id === a.topicId)?.name ?? null;
        if (name === null)
          return {
            name: null,
            topicId: a.topicId,
            errorCode: KafkaError.UNKNOWN_TOPIC_ID,
            errorMessage: 'unknown topic id',
          };
        const topicId = deps.meta.topics.get(name)?.id;
        try {
          authorized(may, 'deleteTopic', name);
          await deps.admin.catchUp([name]);
          await deps.admin.forward('DeleteTopic', { name });
          return { name, topicId, errorCode: 0, errorMessage: null };
        } catch (err) {
          return { name, topicId, errorCode: codeOf(err), errorMessage: kafkaErrorMessage(err) };
        }
      }),
    );
    return { throttleTimeMs: 0, responses };
  },
});

/** CreatePartitions: a topic's partition count may only grow; placement is the controller's. */
export const createPartitions = handler(CreatePartitions, {
  authorization: { inHandler: true },
  async handle(req, { deps, may }) {
    const results = await Promise.all(
      req.topics.map(async (t) => {
        try {
          authorized(may, 'createPartitions', t.name);
          await deps.admin.catchUp([t.name]);
          const current = deps.meta.topics.get(t.name);
          if (!current)
            throw new TopicProblem(
              KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
              `unknown topic "${t.name}"`,
            );
          if (t.assignments !== null && t.assignments.length > 0)
            throw new TopicProblem(
              KafkaError.INVALID_REPLICA_ASSIGNMENT,
              'replica assignments are not taken: the controller places replicas',
            );
          if (t.count <= current.partitions)
            throw new TopicProblem(
              KafkaError.INVALID_PARTITIONS,
              `topic "${t.name}" has ${current.partitions} partitions; it can only grow`,
            );
          checkCount(t.count);
          if (!req.validateOnly)
            await deps.admin.forward('AlterTopic', { name: t.name, partitions: t.count });
          return { name: t.name, errorCode: 0, errorMessage: null };
        } catch (err) {
          return { name: t.name, errorCode: codeOf(err), errorMessage: kafkaErrorMessage(err) };
        }
      }),
    );
    return { throttleTimeMs: 0, results };
  },
});
