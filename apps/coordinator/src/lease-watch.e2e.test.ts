import { CompactedError, type KvClient, LeaseNotFoundError } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.test-util.js';

const registry = new ProcessRegistry();
let cluster: TestCluster;
let client: KvClient;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  cluster = await startCluster(registry, 1);
  await cluster.leader();
  client = cluster.client();
});
afterAll(async () => {
  await cluster.close();
});

describe('leases, watches and compaction on a real coordinator', () => {
  it('a key attached to a lease vanishes when the lease expires, and stays while kept alive', async () => {
    // 3 s of keep-alives outlive the kept lease twice over; each leaves it over a second of slack.
    const kept = await client.leaseGrant(1500);
    const dropped = await client.leaseGrant(600);
    await client.put('session/kept', 'a', { lease: kept });
    await client.put('session/dropped', 'b', { lease: dropped });
    for (let i = 0; i < 12; i++) {
      await sleep(250);
      await client.leaseKeepAlive(kept);
    }
    expect((await client.get('session/kept'))?.value.toString()).toBe('a');
    expect(await client.get('session/dropped')).toBeUndefined();
    await client.leaseRevoke(kept);
    expect(await client.get('session/kept')).toBeUndefined();
  });

  it('an unknown, expired or revoked lease is LEASE_NOT_FOUND at once, for keep-alive, revoke and put alike', async () => {
    const gone = await client.leaseGrant(60_000);
    await client.leaseRevoke(gone);
    for (const attempt of [
      () => client.leaseKeepAlive(gone),
      () => client.leaseKeepAlive(123456789),
      () => client.leaseRevoke(gone),
      () => client.put('session/orphan', 'x', { lease: gone }),
    ]) {
      // Not retriable, so never retried (keep-alive said UNAVAILABLE after 1.9 s of retries).
      const err = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LeaseNotFoundError);
      expect((err as LeaseNotFoundError).retriable).toBe(false);
    }
  });

  it('watch replays from a revision, streams live events, and reports a compacted start', async () => {
    const first = await client.put('feed/1', 'one');
    await client.put('feed/2', 'two');
    const controller = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const events of client.watch('feed/', {
        prefix: true,
        fromRevision: first.revision,
        signal: controller.signal,
      })) {
        for (const e of events) seen.push(`${e.type}:${e.kv.key}`);
        if (seen.length >= 3) controller.abort();
      }
    })();
    await sleep(300);
    await client.delete('feed/1');
    await watching;
    expect(seen).toEqual(['put:feed/1', 'put:feed/2', 'delete:feed/1']);

    const latest = await client.put('feed/3', 'three');
    await client.compact(latest.revision);
    const old = client.watch('feed/', { prefix: true, fromRevision: first.revision });
    await expect(old.next()).rejects.toBeInstanceOf(CompactedError);
  });

  it.each([
    ['killed (kill -9)', () => cluster.procs.get(1)!.kill9()],
    // A clean stop cancels the watch streams on the server: the client must take that as "gone".
    ['stopped (SIGTERM)', () => cluster.procs.get(1)!.terminate()],
  ])(
    'a watch resumes after its coordinator is %s and restarts, with no gap and no duplicate',
    async (_how, stop) => {
      const start = await client.put('resume/a', '1');
      const controller = new AbortController();
      const seen: string[] = [];
      const watching = (async () => {
        for await (const events of client.watch('resume/', {
          prefix: true,
          fromRevision: start.revision,
          signal: controller.signal,
        })) {
          for (const e of events) seen.push(`${e.kv.key}=${e.kv.value}@${e.kv.modRevision}`);
          if (seen.length >= 3) controller.abort();
        }
      })();
      await client.put('resume/b', '2');
      await sleep(300);
      await stop();
      await cluster.start(1);
      await cluster.leader();
      await client.put('resume/c', '3');
      await watching;
      expect(seen.map((s) => s.split('@')[0])).toEqual(['resume/a=1', 'resume/b=2', 'resume/c=3']);
      await client.delete('resume/', { prefix: true });
    },
  );

  it('compare-and-set succeeds once per expected value', async () => {
    expect(await client.compareAndSet('lock', null, 'me')).toBe(true);
    expect(await client.compareAndSet('lock', null, 'you')).toBe(false);
    expect(await client.compareAndSet('lock', 'me', 'you')).toBe(true);
    expect((await client.get('lock'))?.value.toString()).toBe('you');
  });
});
