import { NotLeaderError, UnavailableError } from '@strand/client';
import {
  byKey,
  checkLinearizability,
  type KvOp,
  kvClientLoop,
  kvFinalReads,
  kvModel,
  ProcessRegistry,
} from '@strand/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.test-util.js';

const registry = new ProcessRegistry();
let cluster: TestCluster | undefined;
afterAll(async () => {
  await cluster?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('3 coordinators as real processes', () => {
  it('stay linearizable through kill -9 of the leader and a partition, losing no acknowledged write', async () => {
    cluster = await startCluster(registry, 3);
    const c = cluster;
    const first = await c.leader();
    const keys = ['k1', 'k2', 'k3'];
    const history: KvOp[] = [];
    const acked = new Map<string, string>();
    const started = performance.now();
    const stopAt = started + 16_000;
    const loops = [1, 2, 3, 4].map((id) =>
      kvClientLoop(c.client(), id, keys, () => performance.now() >= stopAt, history, acked),
    );

    // 1. kill -9 the leader; a new one takes over; the old one comes back and catches up.
    await sleep(2500);
    await c.procs.get(first)!.kill9();
    const second = await c.leader([first]);
    expect(second).not.toBe(first);
    await sleep(1500);
    await c.start(first);

    // 2. Isolate the current leader from its peers. A client talking only to it sees writes
    //    and linearizable reads fail fast, while stale reads still answer.
    await sleep(1500);
    const isolated = await c.leader();
    c.mesh.isolate(isolated);
    await sleep(1500); // CheckQuorum: the isolated leader steps down
    const minority = c.client([isolated]);
    const t0 = performance.now();
    await expect(minority.put('minority', 'x')).rejects.toSatisfy(
      (e) => e instanceof NotLeaderError || e instanceof UnavailableError,
    );
    await expect(minority.get('k1')).rejects.toBeInstanceOf(UnavailableError);
    expect(performance.now() - t0).toBeLessThan(15_000);
    const stale = await minority.range('k', { consistency: 'stale' });
    expect(stale.revision).toBeGreaterThan(0);
    const majorityLeader = await c.leader([isolated]);
    expect(majorityLeader).not.toBe(isolated);
    await sleep(1500);
    c.mesh.heal();

    await Promise.all(loops);
    // Final linearizable reads join the history: every acknowledged write must be accounted for.
    const reader = c.client();
    await kvFinalReads(reader, keys, history);
    expect(await reader.get('minority')).toBeUndefined();

    const returned = history.filter((o) => o.ret !== undefined).length;
    console.log(
      `history: ${history.length} ops (${returned} returned, ${acked.size} acknowledged writes), leaders ${first} -> ${second} -> ${majorityLeader}`,
    );
    expect(acked.size).toBeGreaterThan(20);
    const result = checkLinearizability(kvModel, history, { partition: byKey, timeoutMs: 60_000 });
    if (result.ok === false) console.error(result.explanation);
    expect(result.ok).toBe(true);
  }, 90_000);
});
