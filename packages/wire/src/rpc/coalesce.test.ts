import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  NotLeaderError,
  type StrandError,
  UnavailableError,
  UnknownTopicError,
} from '../errors/errors.js';
import { COMMIT_OFFSETS_BATCH } from '../group/commit-batch.js';
import { ClientPool } from './clients.js';
import { MAX_BATCH_REQUESTS } from './coalesce.js';
import { toErrorFields, toGrpcError } from './errors.js';
import { groupService } from './load.js';

type Commit = { group_id: string };
type Answer = (err: grpc.ServiceError | null, res?: unknown) => void;

/** A group service that answers commits ('bad' groups fail) and notes every call it gets. */
class FakeCoordinator {
  readonly singles: string[] = [];
  readonly batches: string[][] = [];
  /** How CommitOffsetsBatch answers: normally, or with a status for the whole call. */
  batchStatus: (() => grpc.ServiceError) | undefined;
  /** Answers only the first commit of a batch (a broken server). */
  answerFirstOnly = false;
  private readonly server = new grpc.Server();
  address = '';

  async start(): Promise<void> {
    const outcome = (c: Commit) =>
      c.group_id === 'bad' ? new UnknownTopicError(`no topic for ${c.group_id}`) : undefined;
    this.server.addService(groupService('GroupCoordinator').service, {
      CommitOffsets: (call: { request: Commit }, cb: Answer) => {
        this.singles.push(call.request.group_id);
        const err = outcome(call.request);
        cb(err ? (toGrpcError(err) as grpc.ServiceError) : null, {});
      },
      CommitOffsetsBatch: (call: { request: { commits: Commit[] } }, cb: Answer) => {
        this.batches.push(call.request.commits.map((c) => c.group_id));
        if (this.batchStatus) return cb(this.batchStatus());
        const commits = this.answerFirstOnly
          ? call.request.commits.slice(0, 1)
          : call.request.commits;
        cb(null, {
          commits: commits.map((c) => {
            const err = outcome(c);
            return err ? toErrorFields(err) : { code: '' };
          }),
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.address = `127.0.0.1:${port}`;
  }

  reset(): void {
    this.singles.length = 0;
    this.batches.length = 0;
    this.batchStatus = undefined;
    this.answerFirstOnly = false;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

const pools: ClientPool[] = [];
const pool = (security = {}) => {
  const p = new ClientPool(groupService('GroupCoordinator'), {}, security).batch(
    'CommitOffsets',
    COMMIT_OFFSETS_BATCH,
  );
  pools.push(p);
  return p;
};
const commit = (p: ClientPool, address: string, group: string, timeoutMs = 5000) =>
  p.unary(address, 'CommitOffsets', { group_id: group, offsets: [] }, timeoutMs);
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: StrandError) => e.code,
  );

let server: FakeCoordinator;

beforeAll(async () => {
  server = new FakeCoordinator();
  await server.start();
});
afterEach(() => {
  server.reset();
  for (const p of pools.splice(0)) p.close();
});
afterAll(() => server.stop());

describe('commits coalesced by the client pools', () => {
  it('go as one batch call when made in one turn through different pools, each answered on its own', async () => {
    const [a, b, c] = [pool(), pool(), pool()];
    const results = await Promise.all(
      [
        commit(a!, server.address, 'g1'),
        commit(b!, server.address, 'g2'),
        commit(c!, server.address, 'bad'),
        commit(a!, server.address, 'g3'),
      ].map(codeOf),
    );
    expect(results).toEqual(['ok', 'ok', ErrorCode.UnknownTopic, 'ok']);
    expect(server.batches).toEqual([['g1', 'g2', 'bad', 'g3']]);
    expect(server.singles).toEqual([]);
  });

  it('send a lone commit as a single call', async () => {
    await commit(pool(), server.address, 'g1');
    expect(server.singles).toEqual(['g1']);
    expect(server.batches).toEqual([]);
  });

  it('keep commits of other turns, timeouts or credentials apart', async () => {
    const p = pool();
    await Promise.all([commit(p, server.address, 'g1'), commit(p, server.address, 'g2', 6000)]);
    await commit(p, server.address, 'g3');
    const creds = () => grpc.credentials.createFromMetadataGenerator((_, cb) => cb(null));
    const [x, y] = [pool({ callCredentials: creds() }), pool({ callCredentials: creds() })];
    await Promise.all(
      ['x1', 'y1', 'x2', 'y2'].map((g) => commit(g[0] === 'x' ? x! : y!, server.address, g)),
    );
    expect(server.singles.sort()).toEqual(['g1', 'g2', 'g3']);
    expect(server.batches.sort()).toEqual([
      ['x1', 'x2'],
      ['y1', 'y2'],
    ]);
  });

  it('split more than a batch holds into several calls', async () => {
    const p = pool();
    const groups = Array.from({ length: MAX_BATCH_REQUESTS + 1 }, (_, i) => `g${i}`);
    await Promise.all(groups.map((g) => commit(p, server.address, g)));
    expect(server.batches.map((b) => b.length)).toEqual([MAX_BATCH_REQUESTS]);
    expect(server.singles).toEqual([`g${MAX_BATCH_REQUESTS}`]);
  });

  it('fail every commit of a batch call that failed as a whole with its error', async () => {
    server.batchStatus = () =>
      toGrpcError(new NotLeaderError(2, '127.0.0.1:2', 'not the leader')) as grpc.ServiceError;
    const p = pool();
    const errors = await Promise.all(
      ['g1', 'g2'].map((g) => commit(p, server.address, g).catch((e: unknown) => e)),
    );
    for (const e of errors) {
      expect(e).toBeInstanceOf(NotLeaderError);
      expect((e as NotLeaderError).leaderAddress).toBe('127.0.0.1:2');
    }
    expect(server.singles).toEqual([]);
  });

  it('fail the commits a batch answer leaves out, never hanging or answering them wrongly', async () => {
    server.answerFirstOnly = true;
    const p = pool();
    const results = await Promise.all(
      ['g1', 'g2'].map((g) => codeOf(commit(p, server.address, g))),
    );
    expect(results).toEqual(['ok', ErrorCode.Internal]);
  });

  it('refuse the commit of a pool closed before the batch left, and send the others', async () => {
    const [a, b] = [pool(), pool()];
    const gone = commit(a!, server.address, 'a1').catch((e: unknown) => e);
    const kept = [commit(b!, server.address, 'b1'), commit(b!, server.address, 'b2')];
    a!.close();
    expect(await gone).toBeInstanceOf(UnavailableError);
    await Promise.all(kept);
    expect(server.batches).toEqual([['b1', 'b2']]);
  });
});

describe('a server without the batch call', () => {
  it('gets the commits as single calls, and no batch call from then on', async () => {
    server.batchStatus = () =>
      ({ code: grpc.status.UNIMPLEMENTED, details: 'no such method' }) as grpc.ServiceError;
    const p = pool();
    const round = (n: number) =>
      Promise.all(['a', 'b', 'c'].map((g) => codeOf(commit(p, server.address, `${g}${n}`))));
    expect(await round(1)).toEqual(['ok', 'ok', 'ok']);
    expect(await round(2)).toEqual(['ok', 'ok', 'ok']);
    expect(server.batches).toEqual([['a1', 'b1', 'c1']]);
    expect(server.singles.sort()).toEqual(['a1', 'a2', 'b1', 'b2', 'c1', 'c2']);
  });

  it('fails a single call as it would have failed alone', async () => {
    // A fresh server: this process has not yet found it lacks the batch call.
    const old = new FakeCoordinator();
    await old.start();
    old.batchStatus = () =>
      ({ code: grpc.status.UNIMPLEMENTED, details: 'no such method' }) as grpc.ServiceError;
    const p = pool();
    const results = await Promise.all(['g', 'bad'].map((g) => codeOf(commit(p, old.address, g))));
    expect(results).toEqual(['ok', ErrorCode.UnknownTopic]);
    expect(old.singles.sort()).toEqual(['bad', 'g']);
    old.stop();
  });
});
