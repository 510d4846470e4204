import { ENTRY_VERSION } from '@strand/kv';
import {
  adminUrlOf,
  eventually,
  ProcessRegistry,
  readiness,
  type Scrape,
  scrapeMetrics,
} from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.test-util.js';

// Three coordinators with admin ports: Raft and KV metrics agree across nodes and move with
// writes and a leader's death; /readyz turns 503 on a node cut off from the others.

const registry = new ProcessRegistry();
let cluster: TestCluster;

const url = (id: number) => adminUrlOf(cluster.procs.get(id)!);
const scrapeAll = async (ids: number[]) =>
  new Map(await Promise.all(ids.map(async (id) => [id, await scrapeMetrics(url(id))] as const)));
const leaders = (s: Map<number, Scrape>) =>
  [...s].filter(([, x]) => x.value('strand_raft_is_leader') === 1).map(([id]) => id);

beforeAll(async () => {
  cluster = await startCluster(registry, 3, ['--admin-listen', '127.0.0.1:0']);
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

describe('coordinator metrics and readiness', () => {
  it('agree on the leader and term, count keys and proposals, and move on failover', async () => {
    await cluster.leader();
    for (const id of cluster.ids)
      await eventually(
        `node ${id} ready`,
        async () => (await readiness(url(id))).status === 200 || undefined,
      );
    const kv = cluster.client();
    for (let i = 0; i < 20; i++) await kv.put(`metrics/${i}`, `v${i}`);

    // One scrape on which every node has the writes and agrees on one leader and term (an
    // election on a loaded machine between the writes and a scrape is no finding).
    const s = await eventually('every node applied the writes', async () => {
      const x = await scrapeAll(cluster.ids);
      const terms = new Set([...x.values()].map((m) => m.value('strand_raft_term')));
      return [...x.values()].every((m) => m.value('strand_kv_keys') === 20) &&
        leaders(x).length === 1 &&
        terms.size === 1
        ? x
        : undefined;
    });
    // A brand-new cluster of members that all read the binary entry format writes it.
    await eventually(
      'every node applied the newest entry format',
      async () =>
        [...(await scrapeAll(cluster.ids)).values()].every(
          (m) => m.value('strand_kv_entry_format') === ENTRY_VERSION,
        ) || undefined,
    );
    const leader = leaders(s)[0]!;
    const terms = new Set([...s.values()].map((m) => m.value('strand_raft_term')));
    expect(terms.size).toBe(1);
    const l = s.get(leader)!;
    expect(l.value('strand_raft_has_leader')).toBe(1);
    expect(l.value('strand_controller_active')).toBe(1);
    expect(l.value('strand_raft_proposals_committed_total')).toBeGreaterThanOrEqual(20);
    expect(l.value('strand_raft_wal_sync_duration_seconds_count')).toBeGreaterThan(0);
    expect(l.value('strand_kv_db_size_bytes')).toBeGreaterThan(0);
    for (const [id, m] of s) {
      if (id === leader) continue;
      expect(m.value('strand_controller_active')).toBe(0);
      expect(m.value('strand_controller_partitions')).toBe(0); // the active controller's alone
    }
    expect(l.has('process_resident_memory_bytes')).toBe(true);

    await cluster.procs.get(leader)!.kill9();
    const survivors = cluster.ids.filter((id) => id !== leader);
    const after = await eventually('a new leader on the survivors', async () => {
      const x = await scrapeAll(survivors);
      return leaders(x).length === 1 &&
        [...x.values()].every((m) => m.value('strand_raft_has_leader') === 1)
        ? x
        : undefined;
    });
    const term = l.value('strand_raft_term')!;
    for (const m of after.values()) {
      expect(m.value('strand_raft_term')).toBeGreaterThan(term);
      expect(m.value('strand_raft_leader_changes_total')).toBeGreaterThanOrEqual(2);
    }
    expect([...after.values()].reduce((n, m) => n + m.sum('strand_controller_active'), 0)).toBe(1);
    // The election is in the logs: the new leader says so, the other names it, both with the term.
    const elected = leaders(after)[0]!;
    const newTerm = after.get(elected)!.value('strand_raft_term');
    await eventually('the election logged', () =>
      cluster.procs
        .get(elected)!
        .records.some((r) => /^elected Raft leader/.test(String(r.msg)) && r.term === newTerm),
    );
    const other = survivors.find((id) => id !== elected)!;
    await eventually('the new leader logged by the other survivor', () =>
      cluster.procs
        .get(other)!
        .records.some(
          (r) => r.msg === 'Raft leader changed' && r.leader === elected && r.term === newTerm,
        ),
    );
    await cluster.start(leader);
  });

  it('says a node cut off from the others is not ready, and ready again once healed', async () => {
    const leader = await cluster.leader();
    const lone = cluster.ids.find((id) => id !== leader)!;
    cluster.mesh.isolate(lone);
    const r = await eventually('the isolated node unready', async () => {
      const x = await readiness(url(lone));
      return x.status === 503 ? x : undefined;
    });
    expect(r.body).toMatchObject({ ready: false, checks: { quorum: { ok: false } } });
    expect((await scrapeMetrics(url(lone))).value('strand_raft_has_leader')).toBe(0);
    cluster.mesh.heal();
    await eventually(
      'ready again',
      async () => (await readiness(url(lone))).status === 200 || undefined,
    );
  });
});
