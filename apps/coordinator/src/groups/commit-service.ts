import type * as grpc from '@grpc/grpc-js';
import {
  GroupIdSchema,
  parseRequest,
  type StrandError,
  TopicNameSchema,
  toErrorFields,
  toGrpcError,
  type UnaryHandler,
} from '@strand/wire';
import { z } from 'zod';
import { instanceId, int32, memberId } from './classic-service.js';
import type { GroupCoordinator } from './coordinator.js';

/** Commits one batch call may carry, and offsets in all of them (as many as one commit may). */
export const MAX_BATCH_COMMITS = 10_000;
export const MAX_BATCH_OFFSETS = 100_000;

const u32 = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);

/** A Strand member's commit (CommitOffsets, and ResetOffsets' offsets). */
export const CommitRequest = z.object({
  group_id: GroupIdSchema,
  member_id: z.string().max(300).default(''),
  generation: u32.default(0),
  offsets: z
    .array(
      z.object({
        topic: TopicNameSchema,
        partition: z.number().int().min(0).max(1_000_000),
        offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
        metadata: z.string().max(4096).default(''),
      }),
    )
    .max(MAX_BATCH_OFFSETS),
});

/** A Kafka client's commit (ClassicCommitOffsets), forwarded by a broker. */
const ClassicCommitRequest = z.object({
  group_id: GroupIdSchema,
  member_id: memberId,
  group_instance_id: instanceId,
  generation: int32,
  offsets: z
    .array(
      z.object({
        // Any name: one that is no topic's is answered per partition (UNKNOWN_TOPIC).
        topic: z.string().max(255),
        partition: z.number().int().min(0).max(1_000_000),
        // Negative: Kafka keeps it, and clients read it back as no offset (KafkaJS's
        // resetOffsets commits -2 and -1): here the committed offset goes, reading back as -1.
        offset: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
        metadata: z.string().max(65_536).default(''),
        commit_timestamp: z.number().int().min(0).default(0),
      }),
    )
    .max(MAX_BATCH_OFFSETS),
});

const BatchRequest = z.object({
  commits: z
    .array(z.object({ offsets: z.array(z.unknown()) }).passthrough())
    .max(MAX_BATCH_COMMITS)
    .refine((cs) => cs.reduce((n, c) => n + c.offsets.length, 0) <= MAX_BATCH_OFFSETS, {
      message: `at most ${MAX_BATCH_OFFSETS} offsets in all the commits of a batch`,
    }),
});

/** What commit calls ask of the node around them (nothing, by default). */
export interface CommitAccess {
  /** Throws unless the caller of a call with `metadata` may make `commit` (a batch's, checked). */
  authorize(
    metadata: grpc.Metadata,
    commit: { group_id: string; offsets: { topic: string }[] },
  ): void;
  /** A commit call was answered: a single commit, or a batch of `commits`. */
  counted(via: 'single' | 'batch', commits: number): void;
}

export const OPEN_COMMITS: CommitAccess = { authorize: () => {}, counted: () => {} };

const resultError = (e: StrandError | undefined) =>
  e ? { code: e.code, message: e.message } : { code: '', message: '' };

/** One commit's error as a batch answers it ('' code: committed). */
function commitError(err: unknown) {
  const f = toErrorFields(err);
  return {
    code: f.code,
    message: f.message,
    leader_id: f.leader_id ?? 0,
    leader_address: f.leader_address ?? '',
  };
}
const COMMITTED = { code: '', message: '', leader_id: 0, leader_address: '' };

/** A unary handler that sees the call's metadata; whatever it throws goes back as a status. */
function handler(
  fn: (request: unknown, metadata: grpc.Metadata) => Promise<unknown>,
): UnaryHandler {
  return (call, cb) => {
    const { request, metadata } = call as { request: unknown; metadata: grpc.Metadata };
    fn(request, metadata).then(
      (res) => cb(null, res),
      (err: unknown) => cb(toGrpcError(err)),
    );
  };
}

/**
 * The commit calls of the group service: CommitOffsets and ClassicCommitOffsets, and their
 * batch forms, in which every commit is validated, authorized (as its single call would be
 * by the interceptor) and answered on its own. A batch's commits are made together, so the
 * offset batcher writes them in one Raft entry.
 */
export function commitHandlers(
  groups: GroupCoordinator,
  access: CommitAccess = OPEN_COMMITS,
): Record<string, UnaryHandler> {
  const commit = async (raw: unknown): Promise<void> => {
    const r = parseRequest(CommitRequest, raw);
    await groups.commit(r.group_id, r.member_id, r.generation, r.offsets);
  };
  const classicCommit = async (raw: unknown) => {
    const r = parseRequest(ClassicCommitRequest, raw);
    const results = await groups.classicCommit(
      r.group_id,
      { memberId: r.member_id, instanceId: r.group_instance_id, generation: r.generation },
      r.offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
        metadata: o.metadata,
        ...(o.commit_timestamp > 0 ? { commitTimestamp: o.commit_timestamp } : {}),
      })),
    );
    return { offsets: results.map(resultError) };
  };
  /** Checks a batch's commit as the single call's rule would, then makes it. */
  const authorized =
    <T>(metadata: grpc.Metadata, make: (raw: unknown) => Promise<T>) =>
    async (raw: unknown): Promise<T> => {
      const r = parseRequest(
        z.object({ group_id: z.string(), offsets: z.array(z.object({ topic: z.string() })) }),
        raw,
      );
      access.authorize(metadata, r);
      return make(raw);
    };
  const batch = (raw: unknown) => {
    const { commits } = parseRequest(BatchRequest, raw);
    access.counted('batch', commits.length);
    return commits;
  };
  return {
    CommitOffsets: handler(async (raw) => {
      access.counted('single', 1);
      await commit(raw);
      return {};
    }),
    CommitOffsetsBatch: handler(async (raw, metadata) => {
      const one = authorized(metadata, commit);
      return {
        commits: await Promise.all(
          batch(raw).map((c) => one(c).then(() => COMMITTED, commitError)),
        ),
      };
    }),
    ClassicCommitOffsets: handler(async (raw) => {
      access.counted('single', 1);
      return classicCommit(raw);
    }),
    ClassicCommitOffsetsBatch: handler(async (raw, metadata) => {
      const one = authorized(metadata, classicCommit);
      return {
        commits: await Promise.all(
          batch(raw).map((c) =>
            one(c).then(
              (r) => ({ error: null, offsets: r.offsets }),
              (err: unknown) => ({ error: commitError(err), offsets: [] }),
            ),
          ),
        ),
      };
    }),
  };
}
