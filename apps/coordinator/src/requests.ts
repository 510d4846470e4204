import { type KvCommand, type KvOp, prefixEnd } from '@strand/kv';
import { checkUserWrite, parseRequest } from '@strand/wire';
import { z } from 'zod';

// Decoded protobuf requests, validated before anything touches the store.
const key = z
  .instanceof(Buffer)
  .refine((b) => b.length > 0 && b.length <= 4096, 'key must be 1..4096 bytes');
const optBytes = z.instanceof(Buffer).default(Buffer.alloc(0));
const int = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0);

export const RangeRequest = z.object({
  key,
  range_end: optBytes,
  prefix: z.boolean().default(false),
  limit: int,
  consistency: z.enum(['LINEARIZABLE', 'STALE']).default('LINEARIZABLE'),
});
export const PutRequest = z.object({
  key,
  value: z.instanceof(Buffer).refine((b) => b.length <= 1024 * 1024, 'value must be at most 1 MiB'),
  lease: int,
  prev_kv: z.boolean().default(false),
});
export const DeleteRangeRequest = z.object({
  key,
  range_end: optBytes,
  prefix: z.boolean().default(false),
  prev_kv: z.boolean().default(false),
});
const CompareSchema = z.object({
  result: z.enum(['EQUAL', 'NOT_EQUAL', 'LESS', 'GREATER']),
  target: z.enum(['VERSION', 'CREATE', 'MOD', 'VALUE']),
  key,
  number: int,
  value: optBytes,
});
const RequestOp = z.object({
  request: z.enum(['range', 'put', 'delete_range']),
  range: z.unknown().optional(),
  put: z.unknown().optional(),
  delete_range: z.unknown().optional(),
});
export const TxnRequest = z.object({
  compare: z.array(CompareSchema).max(128).default([]),
  success: z.array(RequestOp).max(128).default([]),
  failure: z.array(RequestOp).max(128).default([]),
});
export const WatchRequest = z.object({
  key,
  range_end: optBytes,
  prefix: z.boolean().default(false),
  start_revision: int,
});
export const LeaseGrantRequest = z.object({
  ttl_ms: z
    .number()
    .int()
    .min(100)
    .max(7 * 24 * 3600 * 1000),
  id: int,
});
export const LeaseIdRequest = z.object({
  id: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
export const CompactRequest = z.object({
  revision: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});

/** The end of a range request: `range_end`, the prefix's end, or none (a single key). */
export function rangeEnd(r: {
  key: Buffer;
  range_end: Buffer;
  prefix: boolean;
}): Buffer | undefined {
  if (r.prefix) return prefixEnd(r.key);
  return r.range_end.length > 0 ? r.range_end : undefined;
}

/** A user's put: validated, and refused when it reaches into the metadata keyspace. */
export function toPut(raw: unknown): Extract<KvOp, { t: 'put' }> {
  const p = parseRequest(PutRequest, raw);
  checkUserWrite(p.key);
  return {
    t: 'put',
    key: p.key,
    value: p.value,
    ...(p.lease ? { lease: p.lease } : {}),
    prevKv: p.prev_kv,
  };
}

/** A user's delete of a key or range, refused when it reaches into the metadata keyspace. */
export function toDelete(raw: unknown): Extract<KvOp, { t: 'del' }> {
  const d = parseRequest(DeleteRangeRequest, raw);
  const end = rangeEnd(d);
  checkUserWrite(d.key, end);
  return { t: 'del', key: d.key, ...(end ? { end } : {}), prevKv: d.prev_kv };
}

function toOp(op: z.infer<typeof RequestOp>): KvOp {
  switch (op.request) {
    case 'range': {
      const r = parseRequest(RangeRequest, op.range);
      const end = rangeEnd(r);
      return { t: 'get', key: r.key, ...(end ? { end } : {}), limit: r.limit };
    }
    case 'put':
      return toPut(op.put);
    case 'delete_range':
      return toDelete(op.delete_range);
  }
}

const RESULT = { EQUAL: '=', NOT_EQUAL: '!=', LESS: '<', GREATER: '>' } as const;
const TARGET = { VERSION: 'version', CREATE: 'create', MOD: 'mod', VALUE: 'value' } as const;

export function toTxn(t: z.infer<typeof TxnRequest>): Extract<KvCommand, { t: 'txn' }> {
  return {
    t: 'txn',
    compare: t.compare.map((c) => ({
      key: c.key,
      result: RESULT[c.result],
      target: TARGET[c.target],
      value: c.target === 'VALUE' ? c.value : c.number,
    })),
    success: t.success.map(toOp),
    failure: t.failure.map(toOp),
  };
}
