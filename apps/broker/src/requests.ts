import { z } from 'zod';

// Decoded protobuf requests, validated before anything touches a log.
const u32 = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);
const offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const topic = z.string().min(1).max(249);

export const ProduceRequest = z.object({
  id: z.number().int().min(0).default(0),
  acks: z.union([z.literal(0), z.literal(1), z.literal(-1)]),
  timeout_ms: u32.default(0),
  partitions: z
    .array(z.object({ topic, partition: u32, records: z.instanceof(Buffer) }))
    .min(1, 'a produce request needs at least one partition'),
});
export type ProduceRequest = z.infer<typeof ProduceRequest>;

/** Partitions one fetch may name (its answer grows with their number, whatever max_bytes says). */
export const MAX_FETCH_PARTITIONS = 20_000;

export const FetchRequest = z.object({
  max_wait_ms: u32.max(60_000).default(0),
  min_bytes: u32.default(0),
  max_bytes: u32.default(0),
  partitions: z
    .array(
      z.object({
        topic,
        partition: u32,
        offset,
        max_bytes: u32.default(0),
        leader_epoch: u32.default(0),
        known_high_watermark: z.number().int().default(0),
      }),
    )
    .min(1, 'a fetch request needs at least one partition')
    .max(MAX_FETCH_PARTITIONS, `a fetch request names at most ${MAX_FETCH_PARTITIONS} partitions`)
    .superRefine((parts, ctx) => {
      // Each would be read (and answered) again: one request could ask for a partition's
      // bytes any number of times.
      const seen = new Set<string>();
      for (const [i, p] of parts.entries()) {
        const k = `${p.topic}\u0000${p.partition}`;
        if (seen.has(k))
          ctx.addIssue({
            code: 'custom',
            path: [i],
            message: `${p.topic}-${p.partition} is listed twice`,
          });
        seen.add(k);
      }
    }),
  replica_id: u32.default(0),
  replica_epoch: z.number().int().default(0),
  replica_token: z.instanceof(Buffer).default(Buffer.alloc(0)),
  allow_follower: z.boolean().default(false),
});
export type FetchRequest = z.infer<typeof FetchRequest>;

export const ListOffsetsRequest = z.object({
  partitions: z
    .array(
      z.object({
        topic,
        partition: u32,
        spec: z.enum(['LATEST', 'EARLIEST', 'TIMESTAMP']),
        timestamp: z.number().int().default(0),
      }),
    )
    .min(1),
});

export const MetadataRequest = z.object({ topics: z.array(z.string()).default([]) });

export const EpochEndRequest = z.object({
  topic,
  partition: u32,
  leader_epoch: u32,
  current_leader_epoch: u32,
});
