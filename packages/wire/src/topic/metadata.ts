import { z } from 'zod';
import { TopicNameSchema } from './topic-config.js';

/**
 * Cluster metadata lives in the KV store under `/strand/`, one JSON record per key. The
 * controller writes it; brokers and tools watch it.
 */
export const MetaKeys = {
  root: '/strand/',
  brokers: '/strand/brokers/',
  topics: '/strand/topics/',
  broker: (id: number) => `/strand/brokers/${id}`,
  topic: (name: string) => `/strand/topics/${name}`,
  partitions: (topic: string) => `/strand/partitions/${topic}/`,
  partition: (topic: string, partition: number) => `/strand/partitions/${topic}/${partition}`,
} as const;

export type MetaKey =
  | { kind: 'broker'; id: number }
  | { kind: 'topic'; name: string }
  | { kind: 'partition'; topic: string; partition: number };

export function parseMetaKey(key: string): MetaKey | undefined {
  let m = /^\/strand\/brokers\/(\d+)$/.exec(key);
  if (m) return { kind: 'broker', id: Number(m[1]) };
  m = /^\/strand\/topics\/([^/]+)$/.exec(key);
  if (m) return { kind: 'topic', name: m[1]! };
  m = /^\/strand\/partitions\/([^/]+)\/(\d+)$/.exec(key);
  if (m) return { kind: 'partition', topic: m[1]!, partition: Number(m[2]) };
  return undefined;
}

const id = z.number().int().min(1);

/** A registered broker. `epoch` grows by one with every registration (every process start). */
export const BrokerRecordSchema = z.object({
  id,
  address: z.string(),
  incarnation: z.string(),
  epoch: z.number().int().min(1),
  fenced: z.boolean(),
  /** Where the broker runs ('' for none): consumers in the same rack may fetch from it. */
  rack: z.string().default(''),
});
export type BrokerRecord = z.infer<typeof BrokerRecordSchema>;

export const TopicRecordSchema = z.object({
  name: TopicNameSchema,
  id: z.string(),
  partitions: z.number().int().min(1),
  replicationFactor: z.number().int().min(1),
  /** Overrides only; defaults are filled in when read (see effectiveTopicConfigs). */
  configs: z.record(z.string(), z.string()),
  createdAt: z.number(),
});
export type TopicRecord = z.infer<typeof TopicRecordSchema>;

/**
 * One partition's replication state. Invariants: `isr ⊆ replicas`; `leader` is -1 or a
 * member of `isr`; `leaderEpoch` grows with every leader change and `partitionEpoch` with
 * every change at all (ISR changes are compare-and-set on it).
 */
export const PartitionRecordSchema = z.object({
  topic: TopicNameSchema,
  partition: z.number().int().min(0),
  replicas: z.array(id).min(1),
  isr: z.array(id),
  leader: z.number().int().min(-1),
  leaderEpoch: z.number().int().min(0),
  partitionEpoch: z.number().int().min(0),
  /**
   * A reassignment under way: `replicas` holds these and the old ones until every one of these
   * is in the ISR; then the old ones are dropped.
   */
  targetReplicas: z.array(id).min(1).optional(),
});
export type PartitionRecord = z.infer<typeof PartitionRecordSchema>;

export const NO_LEADER = -1;

export function encodeRecord(r: BrokerRecord | TopicRecord | PartitionRecord): Buffer {
  return Buffer.from(JSON.stringify(r));
}

export function decodeRecord<T>(schema: z.ZodType<T>, value: Uint8Array): T {
  return schema.parse(JSON.parse(Buffer.from(value).toString('utf8')));
}
