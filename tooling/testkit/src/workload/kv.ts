import type { KvClient } from '@strand/client';
import type { KvInput, KvOutput, Operation } from '../linearizability/model.js';

export type KvOp = Operation<KvInput, KvOutput>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One KV client's share of a linearizability test: put / get / compare-and-set on a few keys
 * until `done()`, each operation recorded in `history` (times from performance.now()). A write
 * whose answer never came stays without a return: it may or may not have taken effect. A failed
 * read has no effect and is left out. `acked` gets `key=value` of every acknowledged put.
 */
export async function kvClientLoop(
  client: KvClient,
  id: number,
  keys: string[],
  done: () => boolean,
  history: KvOp[],
  acked: Map<string, string>,
): Promise<void> {
  let n = 0;
  while (!done()) {
    const key = keys[Math.floor(Math.random() * keys.length)]!;
    const roll = Math.random();
    const call = performance.now();
    if (roll < 0.4) {
      const value = `c${id}-${n++}`;
      const op: KvOp = { client: id, input: { op: 'put', key, value }, call };
      history.push(op);
      try {
        await client.put(key, value);
        op.output = {};
        op.ret = performance.now();
        acked.set(`${key}=${value}`, key);
      } catch {
        // Unknown fate: the op stays without a return.
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
      const op: KvOp = { client: id, input: { op: 'cas', key, expected, value }, call };
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

/**
 * Linearizable reads of every key, added to the history (retried until `deadlineMs` passes), so
 * that every acknowledged write must be accounted for by the final state.
 */
export async function kvFinalReads(
  client: KvClient,
  keys: string[],
  history: KvOp[],
  deadlineMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (const key of keys) {
    for (;;) {
      const call = performance.now();
      try {
        const kv = await client.get(key);
        history.push({
          client: 99,
          input: { op: 'get', key },
          output: { value: kv ? kv.value.toString() : null },
          call,
          ret: performance.now(),
        });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
  }
}
