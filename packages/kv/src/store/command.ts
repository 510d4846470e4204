import { InvalidRequestError } from '@strand/wire';
import { z } from 'zod';

/** Bytes travel in commands as base64 strings. */
const bytes = z.string().transform((s): Buffer => Buffer.from(s, 'base64'));

const compareSchema = z.object({
  key: bytes,
  target: z.enum(['version', 'create', 'mod', 'value']),
  result: z.enum(['=', '!=', '<', '>']),
  value: z.union([z.number().int(), bytes]),
});

const rangeSchema = z.object({
  key: bytes,
  end: bytes.optional(),
  limit: z.number().int().min(0).optional(),
});

const opSchema = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('put'),
    key: bytes,
    value: bytes,
    lease: z.number().int().min(0).optional(),
    prevKv: z.boolean().optional(),
  }),
  z.object({
    t: z.literal('del'),
    key: bytes,
    end: bytes.optional(),
    prevKv: z.boolean().optional(),
  }),
  z.object({ t: z.literal('get') }).merge(rangeSchema),
]);

/** A row outside the versioned keyspace (see rows.ts): written as it is, or gone. */
const rowOpSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('put'), key: bytes, value: bytes }),
  z.object({ t: z.literal('del'), key: bytes, end: bytes.optional() }),
]);

const commandSchema = z.discriminatedUnion('t', [
  ...opSchema.options,
  z.object({
    t: z.literal('txn'),
    compare: z.array(compareSchema),
    success: z.array(opSchema),
    failure: z.array(opSchema),
  }),
  z.object({
    t: z.literal('leaseGrant'),
    id: z.number().int().positive(),
    ttlMs: z.number().int().positive(),
    /** The principal that granted it (none without authentication): only it may use it. */
    owner: z.string().max(512).optional(),
  }),
  z.object({ t: z.literal('leaseRevoke'), id: z.number().int().positive() }),
  z.object({ t: z.literal('compact'), revision: z.number().int().min(0) }),
  /**
   * The cluster may write entries in format `version` from now on (see entry-format.ts).
   * Always written as JSON in an entry of its own: a release that predates it fails to parse
   * the entry and applies it as a no-op, as it does any entry it cannot read.
   */
  z.object({ t: z.literal('format'), version: z.number().int().min(0) }),
  /**
   * Unversioned rows (entry format 2 on): no revision, no history, no watch event. For data
   * written far more often than anyone watches it (committed offsets).
   */
  z.object({ t: z.literal('rows'), ops: z.array(rowOpSchema) }),
]);

// Built once: zod compiles a schema on first use, so a schema made per call costs a compile.
const envelopeSchema = z.object({
  b: z
    .array(z.object({ r: z.string(), c: commandSchema }))
    .min(1)
    .max(10_000),
});

export type Compare = z.infer<typeof compareSchema>;
export type KvOp = z.infer<typeof opSchema>;
export type KvCommand = z.infer<typeof commandSchema>;
export type RowOp = z.infer<typeof rowOpSchema>;

/**
 * The entry format a command kind first appears in (absent: 0). A command is never written in
 * an older format, and one found in an older format's entry is refused like a damaged entry:
 * a release that predates the kind could not read it either.
 */
const SINCE_FORMAT: Partial<Record<KvCommand['t'], number>> = { rows: 2 };

export function commandFormat(kind: KvCommand['t']): number {
  return SINCE_FORMAT[kind] ?? 0;
}

function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.length).toString('base64');
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return value;
}

/** Version 0 of the entry format, as Strand wrote it before version 1 (and still does until the cluster activates 1). */
export function encodeJsonEntry(
  list: readonly { requestId: string; command: KvCommand }[],
): Buffer {
  return Buffer.from(
    JSON.stringify({ b: list.map((x) => ({ r: x.requestId, c: toJson(x.command) })) }),
  );
}

/**
 * Version 0 of the entry format: the JSON envelope Strand wrote before the binary one (see
 * command-codec.ts), bytes as base64, checked by zod since nothing checked it when written.
 */
export function decodeJsonEntry(data: Uint8Array): { requestId: string; command: KvCommand }[] {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    throw new InvalidRequestError('command is not valid JSON');
  }
  const shape = envelopeSchema.safeParse(raw);
  if (!shape.success)
    throw new InvalidRequestError(
      `invalid command: ${shape.error.issues[0]?.message ?? 'unknown'}`,
    );
  return shape.data.b.map((x) => ({ requestId: x.r, command: x.c }));
}

/**
 * Whether a command can add data to the store: a put, a lease, a transaction with a put.
 * Deletes, reads, lease revocations and compaction only take away.
 */
export function addsData(cmd: KvCommand): boolean {
  switch (cmd.t) {
    case 'put':
    case 'leaseGrant':
      return true;
    case 'rows':
      return cmd.ops.some((op) => op.t === 'put');
    case 'txn':
      return [...cmd.success, ...cmd.failure].some((op) => op.t === 'put');
    default:
      return false;
  }
}
