import { InvalidConfigError } from '@strand/wire';
import { z } from 'zod';

/**
 * How appends reach the disk:
 * - `always`: fsync after every append before it resolves (nothing acknowledged is lost on power failure);
 * - `interval`: group commit, fsync when `intervalMs` passed or `bytes` accumulated since the last one;
 * - `os`: never fsync on the append path; the OS writes back when it likes (and on roll/close).
 */
export const DurabilitySchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('always') }),
  z.object({
    mode: z.literal('interval'),
    intervalMs: z.number().int().positive().default(50),
    bytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024),
  }),
  z.object({ mode: z.literal('os') }),
]);
export type Durability = z.infer<typeof DurabilitySchema>;

export const LogConfigSchema = z
  .object({
    /** Roll the active segment when appending would make it larger than this. */
    segmentBytes: z
      .number()
      .int()
      .min(1024)
      .max(2 ** 31 - 1)
      .default(256 * 1024 * 1024),
    /** Roll the active segment when it is older than this (ms since it was created). */
    segmentMs: z
      .number()
      .int()
      .positive()
      .default(7 * 24 * 3600 * 1000),
    /** Add an offset/time index entry every this many bytes of data. */
    indexIntervalBytes: z.number().int().min(1).default(4096),
    /** Roll the active segment when its offset index holds this many entries. */
    maxIndexEntries: z.number().int().min(2).default(1_000_000),
    /** -1 keeps data forever. */
    retentionMs: z.number().int().min(-1).default(-1),
    /** -1 keeps data forever. */
    retentionBytes: z.number().int().min(-1).default(-1),
    /**
     * Keep only the latest record per key (`cleanup.policy` holds `compact`): the cleaner
     * rewrites closed segments; records without a key are refused by the broker.
     */
    compact: z.boolean().default(false),
    /** Tombstones stay this long after the segment holding them was first cleaned. */
    deleteRetentionMs: z
      .number()
      .int()
      .min(0)
      .default(24 * 3600 * 1000),
    /** Clean once dirty bytes / (clean + dirty bytes) reach this. */
    minCleanableDirtyRatio: z.number().min(0).max(1).default(0.5),
    /** A record stays uncompacted at least this long (by its segment's newest time). */
    minCompactionLagMs: z.number().int().min(0).default(0),
    /** Clean a log whose oldest dirty segment is older than this, whatever its dirty ratio. */
    maxCompactionLagMs: z.number().int().min(1).default(Number.MAX_SAFE_INTEGER),
    /** Largest single append (all batches of one call together). */
    maxAppendBytes: z
      .number()
      .int()
      .positive()
      .default(16 * 1024 * 1024),
    durability: DurabilitySchema.default({
      mode: 'interval',
      intervalMs: 50,
      bytes: 4 * 1024 * 1024,
    }),
  })
  .strict();

export type LogConfig = z.infer<typeof LogConfigSchema>;
export type LogConfigInput = z.input<typeof LogConfigSchema>;

/** Validates a partial config, filling defaults; throws InvalidConfigError with every problem. */
export function parseLogConfig(input: unknown): LogConfig {
  const result = LogConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.join('.') || '(root)'}: ${i.message}`,
    );
    throw new InvalidConfigError(`invalid log config: ${problems.join('; ')}`);
  }
  return result.data;
}
