import { z } from 'zod';
import { InvalidRequestError } from '../errors/errors.js';
import type { RecordKind } from '../topic/metadata.js';
import { parseCommittedOffset } from './offset-record.js';

/** Kafka's rule for group ids: 1..249 of letters, digits, '.', '_' and '-'. */
export const GroupIdSchema = z
  .string()
  .min(1, 'a group id cannot be empty')
  .max(249, 'a group id is at most 249 characters')
  .regex(/^[A-Za-z0-9._-]+$/, "a group id may hold only letters, digits, '.', '_' and '-'");

export function checkGroupId(id: string): string {
  const r = GroupIdSchema.safeParse(id);
  if (!r.success)
    throw new InvalidRequestError(`invalid group id "${id}": ${r.error.issues[0]?.message}`);
  return r.data;
}

/**
 * Where consumer groups live in the KV store: one record per group (its last completed
 * generation) and one key per committed offset.
 */
export const GroupKeys = {
  groups: '/strand/groups/',
  group: (group: string) => `/strand/groups/${group}`,
  offsets: '/strand/offsets/',
  groupOffsets: (group: string) => `/strand/offsets/${group}/`,
  offset: (group: string, topic: string, partition: number) =>
    `/strand/offsets/${group}/${topic}/${partition}`,
} as const;

/** A committed offset as stored: the next offset the group reads. */
export const CommittedOffsetSchema = z.object({
  offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  metadata: z.string(),
  commitTimestamp: z.number(),
  /** The leader epoch of the last record consumed (Kafka's committedLeaderEpoch); -1: unknown. */
  leaderEpoch: z
    .number()
    .int()
    .min(-1)
    .max(2 ** 31 - 1)
    .default(-1),
});
export type CommittedOffset = z.infer<typeof CommittedOffsetSchema>;
/** Either layout of a committed offset: compact binary (written now) or JSON (written before). */
export const CommittedOffsets: RecordKind<CommittedOffset> = {
  schema: CommittedOffsetSchema,
  parse: parseCommittedOffset,
};

export function parseOffsetKey(
  key: string,
): { group: string; topic: string; partition: number } | undefined {
  const m = /^\/strand\/offsets\/([^/]+)\/([^/]+)\/(\d+)$/.exec(key);
  return m ? { group: m[1]!, topic: m[2]!, partition: Number(m[3]) } : undefined;
}
