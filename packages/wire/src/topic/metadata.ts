import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ReservedKeyError } from '../errors/errors.js';
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

const ROOT = Buffer.from(MetaKeys.root);
/** The first key after every key under `/strand/` ('0' follows '/'). */
const ROOT_END = Buffer.from('/strand0');

/**
 * Whether the key range [key, end) — just `key` without an end — holds any key under
 * `/strand/`, the keyspace only the coordinators themselves write.
 */
export function touchesMetadata(key: Uint8Array, end?: Uint8Array): boolean {
  if (Buffer.compare(key, ROOT_END) >= 0) return false;
  if (end === undefined) return Buffer.compare(key, ROOT) >= 0;
  return Buffer.compare(end, ROOT) > 0 && Buffer.compare(end, key) > 0;
}

/** Refuses a user's write (put, delete, lease attachment) that would reach into `/strand/`. */
export function checkUserWrite(key: Uint8Array, end?: Uint8Array): void {
  if (touchesMetadata(key, end))
    throw new ReservedKeyError(
      `keys under "${MetaKeys.root}" hold the cluster's metadata and only the coordinators write them (use the topic and group commands, or another prefix); "${Buffer.from(key).toString()}"${end ? ` to "${Buffer.from(end).toString()}"` : ''} reaches into it`,
    );
}

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
  /**
   * SHA-256 (hex) of the secret token kept in the broker's data folder: the broker proves it
   * is itself with it (registration, heartbeats, ISR changes, follower fetches). '' in records
   * from before tokens.
   */
  tokenHash: z.string().default(''),
  /** http://host:port of its admin listener (metrics, readiness); '' when it has none. */
  adminUrl: z.string().default(''),
  /** Where Kafka clients reach it, when not at `address` ('' for the same). */
  kafkaAddress: z.string().default(''),
  /**
   * It is stopping (controlled shutdown): it leads no partition and is in no ISR where another
   * live broker can stand in, and joins none, until it registers again.
   */
  shuttingDown: z.boolean().default(false),
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

/** What a broker record keeps of a broker's token (never the token itself: records are readable). */
export function brokerTokenHash(token: Uint8Array): string {
  return createHash('sha256').update(token).digest('hex');
}

export function encodeRecord(r: BrokerRecord | TopicRecord | PartitionRecord): Buffer {
  return Buffer.from(JSON.stringify(r));
}

/** How one kind of stored record is read: its schema, and the key a record must sit at. */
export interface RecordKind<T> {
  schema: z.ZodType<T>;
  /** The key the record names itself by (a record at any other key is malformed). */
  keyOf?: (record: T) => string;
  /** The stored bytes as what `schema` checks (throws when they are not); JSON by default. */
  parse?: (value: Uint8Array) => unknown;
}

export const BrokerRecords: RecordKind<BrokerRecord> = {
  schema: BrokerRecordSchema,
  keyOf: (r) => MetaKeys.broker(r.id),
};
export const TopicRecords: RecordKind<TopicRecord> = {
  schema: TopicRecordSchema,
  keyOf: (r) => MetaKeys.topic(r.name),
};
export const PartitionRecords: RecordKind<PartitionRecord> = {
  schema: PartitionRecordSchema,
  keyOf: (r) => MetaKeys.partition(r.topic, r.partition),
};

export type Decoded<T> = { ok: true; record: T } | { ok: false; error: string };

/**
 * A stored metadata record, or why it cannot be used: not JSON, not what its schema says, or
 * sitting at a key other than its own. Never throws: a reader logs and skips what it cannot
 * decode, it does not crash.
 */
export function decodeRecord<T>(
  kind: RecordKind<T>,
  kv: { key: Uint8Array | string; value: Uint8Array },
): Decoded<T> {
  let json: unknown;
  try {
    json = kind.parse ? kind.parse(kv.value) : JSON.parse(Buffer.from(kv.value).toString('utf8'));
  } catch (err) {
    return {
      ok: false,
      error: `${kind.parse ? 'unreadable' : 'not JSON'} (${(err as Error).message})`,
    };
  }
  const r = kind.schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { ok: false, error: `${issue?.path.join('.') || 'record'}: ${issue?.message}` };
  }
  const own = kind.keyOf?.(r.data);
  const key = Buffer.from(kv.key).toString('utf8');
  if (own !== undefined && own !== key)
    return { ok: false, error: `the record belongs at ${own}, not here` };
  return { ok: true, record: r.data };
}
