import type { BatchMethod, Outcome } from '../rpc/coalesce.js';
import { type ErrorFields, fromErrorFields } from '../rpc/errors.js';

/** A commit's fields that count towards a batch's size. */
interface CommitShape {
  group_id?: string;
  member_id?: string;
  offsets?: { topic?: string; metadata?: string }[];
}

/** A commit's size in a batch: its strings and some bytes of numbers per offset. */
function commitBytes(request: unknown): number {
  const r = request as CommitShape;
  let n = 64 + (r.group_id?.length ?? 0) + (r.member_id?.length ?? 0);
  for (const o of r.offsets ?? []) n += 32 + (o.topic?.length ?? 0) + (o.metadata?.length ?? 0);
  return n;
}

const failed = (e: ErrorFields | null | undefined): e is ErrorFields => Boolean(e?.code);

/** CommitOffsets many at once: CommitOffsetsBatch, answered per commit (an Empty when committed). */
export const COMMIT_OFFSETS_BATCH: BatchMethod = {
  method: 'CommitOffsetsBatch',
  request: (commits) => ({ commits }),
  outcomes: (response) =>
    (response as { commits: ErrorFields[] }).commits.map(
      (e): Outcome =>
        failed(e) ? { ok: false, error: fromErrorFields(e) } : { ok: true, value: {} },
    ),
  bytes: commitBytes,
};

interface ClassicResult {
  error: ErrorFields | null;
  offsets: { code: string; message: string }[];
}

/** ClassicCommitOffsets many at once: ClassicCommitOffsetsBatch, answered per commit as the single call. */
export const CLASSIC_COMMIT_BATCH: BatchMethod = {
  method: 'ClassicCommitOffsetsBatch',
  request: (commits) => ({ commits }),
  outcomes: (response) =>
    (response as { commits: ClassicResult[] }).commits.map(
      (r): Outcome =>
        failed(r.error)
          ? { ok: false, error: fromErrorFields(r.error) }
          : { ok: true, value: { offsets: r.offsets } },
    ),
  bytes: commitBytes,
};
