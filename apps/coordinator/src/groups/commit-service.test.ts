import * as grpc from '@grpc/grpc-js';
import {
  AuthorizationFailedError,
  ErrorCode,
  NotLeaderError,
  RebalanceInProgressError,
  type UnaryHandler,
  UnknownMemberIdError,
} from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { type CommitAccess, commitHandlers, MAX_BATCH_COMMITS } from './commit-service.js';
import type { GroupCoordinator } from './coordinator.js';

/** A coordinator whose commits fail by group name, noting the groups that got to commit. */
function fakeGroups() {
  const committed: string[] = [];
  const fail = (group: string) => {
    if (group === 'busy') throw new RebalanceInProgressError('the group is rebalancing');
    if (group === 'moved') throw new NotLeaderError(2, '127.0.0.1:2');
    if (group === 'ghost') throw new UnknownMemberIdError('no member "ghost"');
  };
  const groups = {
    commit: async (group: string) => {
      fail(group);
      committed.push(group);
    },
    classicCommit: async (group: string, _from: unknown, offsets: unknown[]) => {
      fail(group);
      committed.push(group);
      return offsets.map(() => undefined);
    },
  } as unknown as GroupCoordinator;
  return { groups, committed };
}

/** Calls `handler` as grpc-js would; resolves with the answer, or the status it failed with. */
function call(handler: UnaryHandler | undefined, request: unknown) {
  return new Promise<{ res?: unknown; err?: grpc.ServiceError }>((resolve) =>
    handler!({ request, metadata: new grpc.Metadata() } as never, (err, res) =>
      resolve(err ? { err: err as grpc.ServiceError } : { res }),
    ),
  );
}

const commit = (group_id: string, topic = 'orders') => ({
  group_id,
  member_id: '',
  generation: 0,
  offsets: [{ topic, partition: 0, offset: 1, metadata: '' }],
});

function access(): CommitAccess & { counts: [string, number][] } {
  const counts: [string, number][] = [];
  return {
    counts,
    authorize: (_md, c) => {
      if (c.group_id === 'secret')
        throw new AuthorizationFailedError(ErrorCode.GroupAuthorizationFailed, 'may not read');
    },
    counted: (via, n) => counts.push([via, n]),
  };
}

describe('CommitOffsetsBatch', () => {
  it('answers every commit on its own: one refused, invalid or failing leaves the others committed', async () => {
    const { groups, committed } = fakeGroups();
    const a = access();
    const h = commitHandlers(groups, a);
    const { res } = await call(h.CommitOffsetsBatch, {
      commits: [
        commit('g1'),
        commit(''),
        commit('busy'),
        commit('secret'),
        commit('moved'),
        commit('g2'),
      ],
    });
    const answers = (
      res as { commits: { code: string; message: string; leader_address: string }[] }
    ).commits;
    expect(answers.map((x) => x.code)).toEqual([
      '',
      ErrorCode.InvalidRequest,
      ErrorCode.RebalanceInProgress,
      ErrorCode.GroupAuthorizationFailed,
      ErrorCode.NotLeader,
      '',
    ]);
    expect(answers[1]!.message).toMatch(/group_id/);
    expect(answers[4]!.leader_address).toBe('127.0.0.1:2');
    expect(committed).toEqual(['g1', 'g2']);
    expect(a.counts).toEqual([['batch', 6]]);
  });

  it('refuses a batch of too many commits or offsets as a whole, committing none', async () => {
    const { groups, committed } = fakeGroups();
    const h = commitHandlers(groups, access());
    const many = await call(h.CommitOffsetsBatch, {
      commits: Array.from({ length: MAX_BATCH_COMMITS + 1 }, () => commit('g')),
    });
    expect(many.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(many.err?.details).toMatch(/commits/);
    const big = { ...commit('g'), offsets: Array(60_000).fill(commit('g').offsets[0]) };
    const heavy = await call(h.CommitOffsetsBatch, { commits: [big, big] });
    expect(heavy.err?.details).toMatch(/at most 100000 offsets/);
    expect(committed).toEqual([]);
  });

  it('answers an empty batch with no results', async () => {
    const h = commitHandlers(fakeGroups().groups, access());
    expect((await call(h.CommitOffsetsBatch, { commits: [] })).res).toEqual({ commits: [] });
  });
});

describe('ClassicCommitOffsetsBatch', () => {
  it("answers each commit as its single call: a group's error for the whole commit, else per offset", async () => {
    const { groups, committed } = fakeGroups();
    const h = commitHandlers(groups, access());
    const classic = (group_id: string) => ({
      ...commit(group_id),
      group_instance_id: '',
      generation: -1,
    });
    const { res } = await call(h.ClassicCommitOffsetsBatch, {
      commits: [
        classic('k1'),
        classic('ghost'),
        { ...classic('k2'), group_instance_id: 'bad id!' },
      ],
    });
    const answers = (res as { commits: { error: { code: string } | null; offsets: unknown[] }[] })
      .commits;
    expect(answers[0]).toEqual({ error: null, offsets: [{ code: '', message: '' }] });
    expect(answers[1]!.error?.code).toBe(ErrorCode.UnknownMemberId);
    expect(answers[2]!.error?.code).toBe(ErrorCode.InvalidRequest);
    expect(committed).toEqual(['k1']);
  });
});

describe('the single commit calls', () => {
  it('are counted as single', async () => {
    const a = access();
    const h = commitHandlers(fakeGroups().groups, a);
    expect((await call(h.CommitOffsets, commit('g'))).res).toEqual({});
    expect((await call(h.ClassicCommitOffsets, { ...commit('g'), generation: -1 })).res).toEqual({
      offsets: [{ code: '', message: '' }],
    });
    expect(a.counts).toEqual([
      ['single', 1],
      ['single', 1],
    ]);
  });
});
