import { GroupKeys, type RecordKind } from '@strand/wire';
import { z } from 'zod';
import { ASSIGNORS } from './assignors.js';
import type { ClassicRecord } from './classic-group.js';
import type { GroupRecord } from './group.js';

const tp = z.object({ topic: z.string(), partition: z.number().int().min(0) });

/** The group record in the KV store, checked when a new leader loads it. */
export const GroupRecordSchema = z.object({
  group: z.string(),
  generation: z.number().int().min(0),
  protocol: z.string(),
  leader: z.string(),
  members: z.array(
    z.object({
      memberId: z.string().min(1),
      instanceId: z.string(),
      clientId: z.string(),
      sessionTimeoutMs: z.number().int().positive(),
      rebalanceTimeoutMs: z.number().int().positive(),
      subscription: z.object({
        topics: z.array(z.string()),
        pattern: z.string(),
        patternFlags: z.string(),
      }),
      assignors: z.array(z.enum(ASSIGNORS as [string, ...string[]])),
      assignment: z.array(tp),
    }),
  ),
  topicCounts: z.record(z.string(), z.number().int().min(0)),
  heldBack: z.boolean(),
});

const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64')
  .transform((s) => Buffer.from(s, 'base64'));

/** A classic (Kafka clients') group record: opaque metadata and assignments as base64. */
export const ClassicRecordSchema = z.object({
  kind: z.literal('classic'),
  group: z.string(),
  generation: z.number().int().min(0),
  protocolType: z.string(),
  protocol: z.string(),
  leader: z.string(),
  synced: z.boolean(),
  members: z.array(
    z.object({
      memberId: z.string().min(1),
      instanceId: z.string(),
      clientId: z.string(),
      clientHost: z.string(),
      sessionTimeoutMs: z.number().int().positive(),
      rebalanceTimeoutMs: z.number().int().positive(),
      protocols: z.array(z.object({ name: z.string(), metadata: base64 })).min(1),
      assignment: base64,
    }),
  ),
});

/** The stored form of a classic record: Buffers as base64 (Buffer's own JSON is a list of numbers). */
export function classicRecordJson(r: ClassicRecord): string {
  return JSON.stringify({
    ...r,
    members: r.members.map((m) => ({
      ...m,
      protocols: m.protocols.map((p) => ({
        name: p.name,
        metadata: p.metadata.toString('base64'),
      })),
      assignment: m.assignment.toString('base64'),
    })),
  });
}

/** Either kind of group record (Strand's own records have no `kind`). */
export const StoredGroupSchema = z.union([ClassicRecordSchema, GroupRecordSchema]);

/** A stored group record of either kind, at the key of the group it names. */
export const GroupRecords: RecordKind<GroupRecord | ClassicRecord> = {
  schema: StoredGroupSchema as z.ZodType<GroupRecord | ClassicRecord>,
  keyOf: (r) => GroupKeys.group(r.group),
};
