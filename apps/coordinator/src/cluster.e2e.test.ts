import { type KvClient, NotLeaderError, UnavailableError } from '@strand/client';
import {
  byKey,
  checkLinearizability,
  type KvInput,
  type KvOutput,
  kvModel,
  type Operation,
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
type Op = Operation<KvInput, KvOutput>;

/** A client loop doing put / get / CAS on a few keys, recording every operation it issues. */
async function clientLoop(
  client: KvClient,
  id: number,
  keys: string[],
  stopAt: number,
  history: Op[],
  acked: Map<string, string>,
): Promise<void> {
  let n = 0;
  while (performance.now() < stopAt) {
    const key = keys[Math.floor(Math.random() * keys.length)]!;
    const roll = Math.random();
    const call = performance.now();
    if (roll < 0.4) {
      const value = `c${id}-${n++}`;
      const op: Op = { client: id, input: { op: 'put', key, value }, call };
      history.push(op);
      try {
        await client.put(key, value);
        op.output = {};
        op.ret = performance.now();
        acked.set(`${key}=${value}`, key);
      } catch {
        // Unknown fate: the op stays without a return (it may or may not have happened).
      }
    } else if (roll < 0.75) {
      try {
        const kv = await client.get(key);
        history.push({
          client: id,
          input: { op: 'get', key },
          output: { value: kv ? kv.value.toString() : null },
          call,
          ret: performance.now(),
        });
      } catch {
        // A failed read has no effect: it is not part of the history.
      }
    } else {
      const expected =
        Math.random() < 0.3 ? null : `c${Math.floor(Math.random() * 4)}-${Math.max(0, n - 1)}`;
      const value = `c${id}-${n++}`;
      const op: Op = { client: id, input: { op: 'cas', key, expected, value }, call };
      history.push(op);
      try {
        op.output = { ok: await client.compareAndSet(key, expected, value) };
        op.ret = performance.now();
      } catch {
        delete op.output;
      }
    }
    await sleep(5);
  }
}

describe('3 coordinators as real processes', () => {
  it('stay linearizable through kill -9 of the leader and a partition, losing no acknowledged write', async () => {
    cluster = await startCluster(registry, 3);
    const c = cluster;
    const first = await c.leader();
    const keys = ['k1', 'k2', 'k3'];
    const history: Op[] = [];
    const acked = new Map<string, string>();
    const started = performance.now();
    const stopAt = started + 16_000;
    const loops = [1, 2, 3, 4].map((id) =>
      clientLoop(c.client(), id, keys, stopAt, history, acked),
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
    for (const key of keys) {
      const call = performance.now();
      const kv = await reader.get(key);
      history.push({
        client: 99,
        input: { op: 'get', key },
        output: { value: kv ? kv.value.toString() : null },
        call,
        ret: performance.now(),
      });
    }
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
