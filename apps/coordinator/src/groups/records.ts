import { z } from 'zod';
import { ASSIGNORS } from './assignors.js';

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
