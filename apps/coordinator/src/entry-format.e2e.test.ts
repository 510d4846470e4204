import { join } from 'node:path';
import { decodeKvCommand, ENTRY_VERSION, EntryType, KvDb, RaftLogStore } from '@strand/kv';
import { eventually, ProcessRegistry } from '@strand/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN, startCluster, type TestCluster } from './cluster.test-util.js';

// A rolling upgrade of the KV log's entry format. No release before formats is at hand to
// run, so the member not yet upgraded is this build started with `--kv-format-max 0`: it says
// on its Raft streams that it reads only JSON (as an old release, which says nothing, counts),
// and it refuses what is past that instead of misapplying it (which an old release would not).

const registry = new ProcessRegistry();
let cluster: TestCluster | undefined;
afterAll(async () => {
  await cluster?.close();
});

/** Every KV command entry in node `id`'s Raft log (it must be stopped). */
async function kvEntries(c: TestCluster, id: number): Promise<Uint8Array[]> {
  const db = await KvDb.open(join(c.dataDir, `n${id}`));
  try {
    const { entries } = await new RaftLogStore(db).load();
    return entries
      .filter((e) => e.type === EntryType.Normal && e.data.length > 0)
      .map((e) => e.data);
  } finally {
    await db.close();
  }
}

const JSON_BYTE = '{'.charCodeAt(0);

describe('the KV entry format during a rolling upgrade', () => {
  it('stays JSON while a member reads only JSON, activates binary once all read it, and never goes back', async () => {
    const limited = new Set([3]);
    const c = await startCluster(registry, 3, (id) =>
      limited.has(id) ? ['--kv-format-max', '0'] : [],
    );
    cluster = c;
    const leader = await c.leader();
    const kv = c.client();
    const leaderKv = c.client([leader]);
    // The leader has heard what every member reads, and holds the cluster at 0 for member 3.
    const before = await eventually('the leader heard from every member', async () => {
      const m = await leaderKv.members();
      return m.answeredBy === leader &&
        m.members.every((x) => x.id === 3 || x.kvFormatRead === ENTRY_VERSION)
        ? m
        : undefined;
    });
    expect(before.members.find((x) => x.id === 3)?.kvFormatRead).toBe(0);
    for (let i = 0; i < 20; i++) await kv.put(`upgrade/${i}`, `old-${i}`);
    const txn = await kv.txn(
      [{ key: 'upgrade/0', target: 'value', op: '=', value: 'old-0' }],
      [{ put: { key: 'upgrade/txn', value: 'yes' } }],
    );
    expect(txn.succeeded).toBe(true);
    await kv.put('upgrade/leased', 'l', { lease: await kv.leaseGrant(60_000) });
    for (const id of c.ids) expect((await c.client([id]).members()).kvFormat).toBe(0);

    // Everything member 3 holds is JSON (once it holds everything: on a loaded machine the
    // last member started may still be catching up).
    const { commitIndex } = await leaderKv.members();
    await eventually('member 3 caught up', async () => {
      const m = await c.client([3]).members();
      return m.answeredBy === 3 && m.appliedIndex >= commitIndex ? true : undefined;
    });
    await c.procs.get(3)!.terminate();
    const old = (await kvEntries(c, 3)).map((d) => d[0]);
    expect(old.length).toBeGreaterThanOrEqual(23);
    expect(new Set(old)).toEqual(new Set([JSON_BYTE]));

    // Upgraded: the leader activates the newest format and writes go on, in binary.
    limited.delete(3);
    await c.start(3);
    await eventually('every member applied the newest format', async () => {
      for (const id of c.ids)
        if ((await c.client([id]).members()).kvFormat !== ENTRY_VERSION) return undefined;
      return true;
    });
    for (let i = 0; i < 20; i++) await kv.put(`upgrade/new-${i}`, `new-${i}`);
    const three = c.client([3]);
    await eventually(
      'member 3 applied the new writes',
      async () =>
        (await three.range('upgrade/', { consistency: 'stale' })).kvs.length === 42 || undefined,
    );
    const all = await three.range('upgrade/');
    expect(all.kvs.find((x) => x.key.toString() === 'upgrade/7')?.value.toString()).toBe('old-7');
    expect(all.kvs.find((x) => x.key.toString() === 'upgrade/txn')?.value.toString()).toBe('yes');
    expect(all.kvs.find((x) => x.key.toString() === 'upgrade/new-7')?.value.toString()).toBe(
      'new-7',
    );

    // Its log: the JSON entries, the activation (JSON, an entry of its own), then binary.
    await c.procs.get(3)!.terminate();
    const entries = await kvEntries(c, 3);
    const now = entries.map((d) => d[0]);
    const firstBinary = now.indexOf(ENTRY_VERSION);
    expect(firstBinary).toBeGreaterThan(old.length);
    expect(now.slice(0, firstBinary).every((b) => b === JSON_BYTE)).toBe(true);
    const activations = entries.filter((d) =>
      decodeKvCommand(d).some((x) => x.command.t === 'format'),
    );
    expect(activations.length).toBeGreaterThanOrEqual(1);
    for (const d of activations) {
      expect(d[0]).toBe(JSON_BYTE);
      expect(decodeKvCommand(d).map((x) => x.command)).toEqual([
        { t: 'format', version: ENTRY_VERSION },
      ]);
    }
    expect(now.slice(firstBinary).filter((b) => b === ENTRY_VERSION).length).toBeGreaterThanOrEqual(
      20,
    );
    expect(now.every((b) => b === JSON_BYTE || b === ENTRY_VERSION)).toBe(true);

    // Limited to 0 again, it refuses to start, naming the format.
    const refused = registry.spawnNode(MAIN, {
      name: 'coordinator-3-limited',
      args: [...c.argsFor(3), '--kv-format-max', '0'],
    });
    expect(await refused.exited).not.toBe(0);
    expect(refused.lines.join('\n')).toMatch(
      /KV command format version 2 is past what this node was started to read \(up to 0\)/,
    );
    await c.start(3);
    expect((await c.client([3]).get('upgrade/new-19'))?.value.toString()).toBe('new-19');
  }, 90_000);
});
