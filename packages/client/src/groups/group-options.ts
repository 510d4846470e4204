import { GroupIdSchema, InvalidConfigError } from '@strand/wire';
import { z } from 'zod';
import type { AssignorName } from './types.js';

/** What a Consumer takes on top of its fetch options to be a member of a consumer group. */
export interface GroupConsumerOptions {
  /** Join this consumer group (needed for subscribe() and commits). */
  groupId?: string;
  /** Static membership: a restart with the same id within the session keeps the assignment, no rebalance. */
  groupInstanceId?: string;
  /** The coordinator drops a member silent this long, default 10_000. */
  sessionTimeoutMs?: number;
  /** Default 1000 (at most a third of the session timeout). */
  heartbeatIntervalMs?: number;
  /** How long a rebalance waits for members to rejoin, default 30_000. */
  rebalanceTimeoutMs?: number;
  /**
   * Longest time between two poll() calls, default 300_000 (Kafka's max.poll.interval.ms).
   * A consumer that stays away longer is taken for stuck: it leaves the group (a static member
   * stops heartbeating) so its partitions move on, and its next poll() reports them lost and
   * joins again.
   */
  maxPollIntervalMs?: number;
  /** In order of preference, default ['cooperative-sticky', 'range']. */
  assignors?: AssignorName[];
  /** Commit positions every `autoCommitIntervalMs` from poll(), before revoking, and on close. Default true. */
  autoCommit?: boolean;
  /** Default 5000. */
  autoCommitIntervalMs?: number;
}

const GroupSchema = z
  .object({
    groupId: GroupIdSchema,
    groupInstanceId: z.string().min(1).max(249).optional(),
    sessionTimeoutMs: z.number().int().min(500).max(600_000).default(10_000),
    heartbeatIntervalMs: z.number().int().min(10).max(200_000).default(1000),
    rebalanceTimeoutMs: z.number().int().min(500).max(600_000).default(30_000),
    maxPollIntervalMs: z
      .number()
      .int()
      .min(100)
      .max(2 ** 31 - 1)
      .default(300_000),
    assignors: z
      .array(z.enum(['range', 'round-robin', 'cooperative-sticky']))
      .min(1)
      .default(['cooperative-sticky', 'range']),
    autoCommit: z.boolean().default(true),
    autoCommitIntervalMs: z.number().int().min(1).max(3_600_000).default(5000),
  })
  .refine((o) => o.heartbeatIntervalMs * 3 <= o.sessionTimeoutMs, {
    message: 'heartbeatIntervalMs must be at most a third of sessionTimeoutMs',
    path: ['heartbeatIntervalMs'],
  });

export type ResolvedGroupOptions = z.output<typeof GroupSchema>;

export function groupOptions(o: GroupConsumerOptions & { groupId: string }): ResolvedGroupOptions {
  const r = GroupSchema.safeParse({
    groupId: o.groupId,
    groupInstanceId: o.groupInstanceId,
    sessionTimeoutMs: o.sessionTimeoutMs,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    rebalanceTimeoutMs: o.rebalanceTimeoutMs,
    maxPollIntervalMs: o.maxPollIntervalMs,
    assignors: o.assignors,
    autoCommit: o.autoCommit,
    autoCommitIntervalMs: o.autoCommitIntervalMs,
  });
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || 'group'}: ${i.message}`);
  throw new InvalidConfigError(`invalid consumer group options: ${issues.join('; ')}`);
}
