import { readFileSync } from 'node:fs';
import { InvalidRequestError } from '@strand/wire';
import { z } from 'zod';
import type { Assignment } from './plan.js';

/**
 * A plan as `strand topic reassign` prints it and `--plan FILE` reads it (kafka-reassign-partitions'
 * shape), alone or as the `proposed` of the `--json` output.
 */
export const PlanFileSchema = z
  .object({
    version: z.literal(1),
    partitions: z.array(
      z
        .object({
          topic: z.string().min(1),
          partition: z.number().int().min(0),
          replicas: z
            .array(z.number().int().min(1))
            .min(1)
            .refine((r) => new Set(r).size === r.length, 'replicas must be distinct'),
        })
        .strict(),
    ),
  })
  .strict();

export const planFile = (partitions: readonly Assignment[]) => ({
  version: 1 as const,
  partitions: partitions.map((a) => ({
    topic: a.topic,
    partition: a.partition,
    replicas: a.replicas,
  })),
});

export function readPlanFile(path: string): Assignment[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InvalidRequestError(`--plan ${path}: ${(err as Error).message}`);
  }
  // What `--json` prints holds the plan as its `proposed`.
  const plan = raw && typeof raw === 'object' && 'proposed' in raw ? raw.proposed : raw;
  const parsed = PlanFileSchema.safeParse(plan);
  if (!parsed.success)
    throw new InvalidRequestError(
      `--plan ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data.partitions;
}
