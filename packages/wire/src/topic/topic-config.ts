import { z } from 'zod';
import { InvalidConfigError, InvalidRequestError } from '../errors/errors.js';

/** Kafka's rule: 1..249 of letters, digits, `.`, `_` and `-`, and not `.` or `..`. */
export const TopicNameSchema = z
  .string()
  .min(1, 'a topic name cannot be empty')
  .max(249, 'a topic name has at most 249 characters')
  .regex(/^[A-Za-z0-9._-]+$/, 'a topic name may hold only letters, digits, ".", "_" and "-"')
  .refine((n) => n !== '.' && n !== '..', 'a topic name cannot be "." or ".."');

export function checkTopicName(name: string): string {
  const r = TopicNameSchema.safeParse(name);
  if (!r.success)
    throw new InvalidRequestError(
      `invalid topic name ${JSON.stringify(name)}: ${r.error.issues[0]?.message}`,
    );
  return r.data;
}

export const MAX_PARTITIONS = 1000;

const intString = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

/** `delete`, `compact` or both (in either order, as Kafka takes them), normalised. */
const cleanupPolicySchema = z
  .string()
  .transform((v) => [...new Set(v.split(',').map((p) => p.trim()))].sort().join(','))
  .pipe(
    z.enum(['delete', 'compact', 'compact,delete'], {
      message: 'must be "delete", "compact" or "compact,delete"',
    }),
  );

/**
 * Per-topic configs under Kafka's names, each with Kafka's default. Values arrive as strings
 * (from the CLI, the wire and the KV store) and are checked here, in one place.
 */
const TOPIC_CONFIGS = {
  'retention.ms': { schema: intString(-1), default: '604800000' },
  'retention.bytes': { schema: intString(-1), default: '-1' },
  'segment.bytes': { schema: intString(1024, 2 ** 31 - 1), default: '1073741824' },
  'segment.ms': { schema: intString(1), default: '604800000' },
  'max.message.bytes': { schema: intString(64, 64 * 1024 * 1024), default: '1048588' },
  'min.insync.replicas': { schema: intString(1, 16), default: '1' },
  'unclean.leader.election.enable': {
    schema: z.enum(['true', 'false'], { message: 'must be true or false' }),
    default: 'false',
  },
  'cleanup.policy': { schema: cleanupPolicySchema, default: 'delete' },
  /** How long a tombstone stays after its segment was cleaned (consumers reading to the end see it). */
  'delete.retention.ms': { schema: intString(0), default: '86400000' },
  'min.cleanable.dirty.ratio': {
    schema: z
      .string()
      .regex(/^\d*\.?\d+$/, 'must be a number')
      .transform(Number)
      .pipe(z.number().min(0).max(1)),
    default: '0.5',
  },
  'min.compaction.lag.ms': { schema: intString(0), default: '0' },
  'max.compaction.lag.ms': { schema: intString(1), default: String(Number.MAX_SAFE_INTEGER) },
} as const;

export type TopicConfigName = keyof typeof TOPIC_CONFIGS;
export const TOPIC_CONFIG_NAMES = Object.keys(TOPIC_CONFIGS) as TopicConfigName[];

export interface TopicConfig {
  retentionMs: number;
  retentionBytes: number;
  segmentBytes: number;
  segmentMs: number;
  maxMessageBytes: number;
  minInsyncReplicas: number;
  /** Elect an out-of-sync replica when no in-sync one is alive: available, but loses records. */
  uncleanLeaderElection: boolean;
  cleanupPolicy: CleanupPolicy;
  deleteRetentionMs: number;
  minCleanableDirtyRatio: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
}

/** Whether the topic keeps only the latest record per key (records must have keys). */
export function isCompacted(c: Pick<TopicConfig, 'cleanupPolicy'>): boolean {
  return c.cleanupPolicy !== 'delete';
}

/**
 * Validates config overrides (name → string value). Returns them normalised; throws
 * InvalidConfigError naming every bad entry, so a bad request changes nothing.
 */
export function checkTopicConfigs(overrides: Record<string, string>): Record<string, string> {
  const problems: string[] = [];
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(overrides)) {
    const spec = TOPIC_CONFIGS[name as TopicConfigName];
    if (!spec) {
      problems.push(`unknown config "${name}" (known: ${TOPIC_CONFIG_NAMES.join(', ')})`);
      continue;
    }
    const r = spec.schema.safeParse(String(value).trim());
    if (!r.success) problems.push(`${name}=${value}: ${r.error.issues[0]?.message}`);
    else out[name] = String(r.data);
  }
  if (problems.length > 0) throw new InvalidConfigError(problems.join('; '));
  return out;
}

/** Every config, defaults filled in (what `describe` shows). */
export function effectiveTopicConfigs(overrides: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of TOPIC_CONFIG_NAMES) out[name] = overrides[name] ?? TOPIC_CONFIGS[name].default;
  return out;
}

export function topicConfig(overrides: Record<string, string>): TopicConfig {
  const all = checkTopicConfigs(effectiveTopicConfigs(overrides));
  return {
    retentionMs: Number(all['retention.ms']),
    retentionBytes: Number(all['retention.bytes']),
    segmentBytes: Number(all['segment.bytes']),
    segmentMs: Number(all['segment.ms']),
    maxMessageBytes: Number(all['max.message.bytes']),
    minInsyncReplicas: Number(all['min.insync.replicas']),
    uncleanLeaderElection: all['unclean.leader.election.enable'] === 'true',
    cleanupPolicy: all['cleanup.policy'] as CleanupPolicy,
    deleteRetentionMs: Number(all['delete.retention.ms']),
    minCleanableDirtyRatio: Number(all['min.cleanable.dirty.ratio']),
    minCompactionLagMs: Number(all['min.compaction.lag.ms']),
    maxCompactionLagMs: Number(all['max.compaction.lag.ms']),
  };
}
