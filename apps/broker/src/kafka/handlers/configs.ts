import { onCluster, onResource } from '@strand/auth';
import {
  DescribeConfigs,
  IncrementalAlterConfigs,
  KafkaError,
  type KafkaErrorCode,
  kafkaErrorCode,
  kafkaErrorMessage,
} from '@strand/kafka-protocol';
import {
  checkTopicConfigs,
  effectiveTopicConfigs,
  TOPIC_CONFIG_NAMES,
  type TopicConfigName,
} from '@strand/wire';
import type { KafkaDeps } from '../deps.js';
import { handler } from '../handler.js';

/** Kafka's config resource types, sources and value types (the ones used here). */
const TOPIC = 2;
const BROKER = 4;
const Source = { TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;
const Type = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, DOUBLE: 6, LIST: 7 } as const;

const TOPIC_CONFIG_TYPES: Record<TopicConfigName, number> = {
  'retention.ms': Type.LONG,
  'retention.bytes': Type.LONG,
  'segment.bytes': Type.INT,
  'segment.ms': Type.LONG,
  'max.message.bytes': Type.INT,
  'min.insync.replicas': Type.INT,
  'unclean.leader.election.enable': Type.BOOLEAN,
  'cleanup.policy': Type.LIST,
  'delete.retention.ms': Type.LONG,
  'min.cleanable.dirty.ratio': Type.DOUBLE,
  'min.compaction.lag.ms': Type.LONG,
  'max.compaction.lag.ms': Type.LONG,
};

export interface ConfigEntry {
  name: string;
  value: string;
  configSource: number;
  configType: number;
  readOnly: boolean;
}

/** A topic's configs with their defaults filled in (only `keys`, when given). */
export function topicConfigEntries(
  overrides: Record<string, string>,
  keys: readonly string[] | null,
): ConfigEntry[] {
  return Object.entries(effectiveTopicConfigs(overrides))
    .filter(([name]) => keys === null || keys.length === 0 || keys.includes(name))
    .map(([name, value]) => ({
      name,
      value,
      configSource: name in overrides ? Source.TOPIC_CONFIG : Source.DEFAULT_CONFIG,
      configType: TOPIC_CONFIG_TYPES[name as TopicConfigName],
      readOnly: false,
    }));
}

/** A broker's own settings, as Kafka tools look for them: static, read-only. */
function brokerConfigEntries(deps: KafkaDeps): ConfigEntry[] {
  const c = deps.config;
  const entry = (name: string, value: string, configType: number): ConfigEntry => ({
    name,
    value,
    configSource: Source.STATIC_BROKER_CONFIG,
    configType,
    readOnly: true,
  });
  return [
    entry('broker.id', String(deps.brokerId), Type.INT),
    entry('broker.rack', deps.meta.brokers.get(deps.brokerId)?.rack ?? '', Type.STRING),
    entry('auto.create.topics.enable', String(c.autoCreateTopics), Type.BOOLEAN),
    entry('num.partitions', String(c.defaultPartitions), Type.INT),
    entry('default.replication.factor', String(c.defaultReplicationFactor), Type.INT),
    entry('socket.request.max.bytes', String(c.maxRequestBytes), Type.INT),
  ];
}

class ResourceProblem extends Error {
  constructor(
    readonly errorCode: KafkaErrorCode,
    message: string,
  ) {
    super(message);
  }
}
const codeOf = (err: unknown) =>
  err instanceof ResourceProblem ? err.errorCode : kafkaErrorCode(err);

function isThisBroker(deps: KafkaDeps, name: string): boolean {
  return name === '' || name === String(deps.brokerId);
}

/** DescribeConfigs for topics (every config, defaults included) and for this broker. */
export const describeConfigs = handler(DescribeConfigs, {
  // describe-configs on each topic, or on the cluster for the broker's.
  authorization: { inHandler: true },
  async handle(req, { deps, header, may }) {
    const results = await Promise.all(
      req.resources.map(async (r) => {
        const base = { resourceType: r.resourceType, resourceName: r.resourceName };
        try {
          let entries: ConfigEntry[];
          if (r.resourceType === TOPIC) {
            if (!may(onResource('describeConfigs', 'topic', r.resourceName), true))
              throw new ResourceProblem(
                KafkaError.TOPIC_AUTHORIZATION_FAILED,
                `may not describe the configs of topic "${r.resourceName}"`,
              );
            await deps.admin.catchUp([r.resourceName]);
            const t = deps.meta.topics.get(r.resourceName);
            if (!t)
              throw new ResourceProblem(
                KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
                `unknown topic "${r.resourceName}"`,
              );
            entries = topicConfigEntries(t.configs, r.configurationKeys);
          } else if (r.resourceType === BROKER && isThisBroker(deps, r.resourceName)) {
            if (!may(onCluster('describeBrokerConfigs'), true))
              throw new ResourceProblem(
                KafkaError.CLUSTER_AUTHORIZATION_FAILED,
                "may not describe the broker's configs",
              );
            const keys = r.configurationKeys;
            entries = brokerConfigEntries(deps).filter(
              (e) => !keys?.length || keys.includes(e.name),
            );
          } else
            throw new ResourceProblem(
              KafkaError.INVALID_REQUEST,
              `resource type ${r.resourceType} "${r.resourceName}" is not described here`,
            );
          return {
            ...base,
            errorCode: 0,
            errorMessage: null,
            configs: entries.map((e) => ({
              name: e.name,
              value: e.value,
              readOnly: e.readOnly,
              isDefault: e.configSource === Source.DEFAULT_CONFIG,
              configSource: e.configSource,
              isSensitive: false,
              synonyms:
                req.includeSynonyms && header.apiVersion >= 1
                  ? [{ name: e.name, value: e.value, source: e.configSource }]
                  : [],
              configType: e.configType,
              documentation: null,
            })),
          };
        } catch (err) {
          return {
            ...base,
            errorCode: codeOf(err),
            errorMessage: kafkaErrorMessage(err),
            configs: [],
          };
        }
      }),
    );
    return { throttleTimeMs: 0, results };
  },
});

const Op = { SET: 0, DELETE: 1 } as const;

/** IncrementalAlterConfigs for topics: set or delete (back to the default); broker configs are static. */
export const incrementalAlterConfigs = handler(IncrementalAlterConfigs, {
  authorization: { inHandler: true },
  async handle(req, { deps, may }) {
    const responses = await Promise.all(
      req.resources.map(async (r) => {
        const base = { resourceType: r.resourceType, resourceName: r.resourceName };
        try {
          if (r.resourceType !== TOPIC)
            throw new ResourceProblem(
              KafkaError.INVALID_REQUEST,
              'only topic configs can be altered (broker settings are static)',
            );
          if (!may(onResource('alterConfigs', 'topic', r.resourceName), true))
            throw new ResourceProblem(
              KafkaError.TOPIC_AUTHORIZATION_FAILED,
              `may not alter the configs of topic "${r.resourceName}"`,
            );
          const set: Record<string, string> = {};
          const del: string[] = [];
          for (const c of r.configs) {
            if (c.configOperation === Op.SET && c.value !== null) set[c.name] = c.value;
            else if (c.configOperation === Op.DELETE) del.push(c.name);
            else
              throw new ResourceProblem(
                KafkaError.INVALID_CONFIG,
                `${c.name}: operation ${c.configOperation} is not supported (set and delete are)`,
              );
            if (!(TOPIC_CONFIG_NAMES as string[]).includes(c.name))
              throw new ResourceProblem(KafkaError.INVALID_CONFIG, `unknown config "${c.name}"`);
          }
          checkTopicConfigs(set);
          await deps.admin.catchUp([r.resourceName]);
          if (!deps.meta.topics.has(r.resourceName))
            throw new ResourceProblem(
              KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
              `unknown topic "${r.resourceName}"`,
            );
          if (!req.validateOnly)
            await deps.admin.forward('AlterTopic', {
              name: r.resourceName,
              set_configs: set,
              delete_configs: del,
            });
          return { ...base, errorCode: 0, errorMessage: null };
        } catch (err) {
          return { ...base, errorCode: codeOf(err), errorMessage: kafkaErrorMessage(err) };
        }
      }),
    );
    return { throttleTimeMs: 0, responses };
  },
});
