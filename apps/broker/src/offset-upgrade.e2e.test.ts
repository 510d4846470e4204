import { Admin, Consumer, KvClient } from '@strand/client';
import { eventually, ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// Committed offsets across the KV entry format step that brings unversioned rows (2). The
// member not yet upgraded is this build with `--kv-format-max 1`: while it is there, offsets
// are versioned keys (an older release could not read a rows command); once every member
// reads 2 they are rows, the keys written before still read, and nothing acknowledged is lost
// to a kill -9 or a restart of every coordinator.

const registry = new ProcessRegistry();
const limited = new Set([3]);
let cluster: TopicCluster;
let kv: KvClient;
let admin: Admin;
const consumers = new Map<string, Consumer>();
const tps = [0, 1, 2, 3].map((partition) => ({ topic: 'upgrade', partition }));

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 1, {
    coordinators: 3,
    coordinatorArgsFor: (id) => (limited.has(id) ? ['--kv-format-max', '1'] : []),
  });
  kv = new KvClient({ bootstrap: cluster.coordinator.split(','), retries: 10 });
  admin = new Admin({ bootstrap: cluster.bootstrap });
  await admin.createTopic({ name: 'upgrade', partitions: 4 });
}, 60_000);

afterAll(async () => {
  await Promise.all([...consumers.values()].map((c) => c.close().catch(() => undefined)));
  await admin?.close();
  kv?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

function group(id: string): Consumer {
  let c = consumers.get(id);
  if (!c) {
    c = new Consumer({ bootstrap: cluster.bootstrap, groupId: id, autoCommit: false });
    consumers.set(id, c);
  }
  return c;
}

const commit = (id: string, base: number, partitions = [0, 1, 2, 3]) =>
  group(id).commit(
    partitions.map((partition) => ({ topic: 'upgrade', partition, offset: base + partition })),
  );

/** Every group's committed offsets, `group/partition` → offset. */
async function committed(ids: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const id of ids)
    for (const [k, offset] of await group(id).committed(tps))
      out[`${id}/${k.split('\u0000')[1]}`] = offset;
  return out;
}

/** The offsets stored as versioned KV keys (rows are not in a KV range). */
async function versionedKeys(): Promise<string[]> {
  const r = await kv.range('/strand/offsets/');
  return r.kvs.map((x) => x.key.toString().slice('/strand/offsets/'.length)).sort();
}

/** Whether every coordinator has applied entry format `format` (each asked itself). */
async function formatOfAll(format: number): Promise<true | undefined> {
  for (const [id, { address }] of cluster.coordinators) {
    const one = new KvClient({ bootstrap: [address], retries: 0 });
    const m = await one.members().catch(() => undefined);
    one.close();
    if (m?.answeredBy !== id || m.kvFormat !== format) return undefined;
  }
  return true;
}

async function leader(not?: number): Promise<number> {
  return eventually('a coordinator leader', async () => {
    const id = (await kv.members().catch(() => undefined))?.leaderId;
    return id && id !== not ? id : undefined;
  });
}

describe('committed offsets during the KV format step to unversioned rows', () => {
  it('are versioned keys while a member reads only 1, rows after; every acknowledged one reads back', async () => {
    await eventually('format 1 on every coordinator', () => formatOfAll(1));
    for (const [i, id] of ['a', 'b', 'c'].entries()) await commit(id, 100 * (i + 1));
    expect(await versionedKeys()).toHaveLength(12);

    // Member 3 upgraded: format 2 activates; commits become rows.
    limited.delete(3);
    await cluster.coordinators.get(3)!.proc.terminate();
    await cluster.startCoordinator(3);
    await eventually('format 2 on every coordinator', () => formatOfAll(2), 30_000);
    await commit('a', 1000, [0, 1]); // replaces two keys written before
    await commit('d', 400); // a group new since the step
    await admin.deleteGroup('c');
    const want = {
      'a/0': 1000,
      'a/1': 1001,
      'a/2': 102,
      'a/3': 103,
      'b/0': 200,
      'b/1': 201,
      'b/2': 202,
      'b/3': 203,
      'd/0': 400,
      'd/1': 401,
      'd/2': 402,
      'd/3': 403,
    };
    expect(await committed(['a', 'b', 'c', 'd'])).toEqual(want);
    // The rows replaced their keys; the new group and the deleted one have none.
    expect(await versionedKeys()).toEqual([
      'a/upgrade/2',
      'a/upgrade/3',
      'b/upgrade/0',
      'b/upgrade/1',
      'b/upgrade/2',
      'b/upgrade/3',
    ]);

    // Acknowledged, then the leader killed at once: the next leader has them.
    await commit('b', 2000);
    await commit('e', 500);
    const killed = await leader();
    await cluster.coordinators.get(killed)!.proc.kill9();
    await leader(killed);
    const after = {
      ...want,
      ...{ 'b/0': 2000, 'b/1': 2001, 'b/2': 2002, 'b/3': 2003 },
      ...{ 'e/0': 500, 'e/1': 501, 'e/2': 502, 'e/3': 503 },
    };
    expect(await committed(['a', 'b', 'c', 'd', 'e'])).toEqual(after);

    // Every coordinator restarted: the rows are read back from disk.
    await cluster.startCoordinator(killed);
    for (const c of cluster.coordinators.values()) await c.proc.terminate();
    await Promise.all([...cluster.coordinators.keys()].map((id) => cluster.startCoordinator(id)));
    await leader();
    const again = await eventually('the groups answer again', () =>
      committed(['a', 'b', 'c', 'd', 'e']).catch(() => undefined),
    );
    expect(again).toEqual(after);
  }, 180_000);
});
