import { Admin, Consumer, KvClient } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// Offset commits are acknowledged only once their Raft entry is committed and applied: a
// coordinator leader killed (-9) the moment the acknowledgements arrive loses none of them.

const registry = new ProcessRegistry();
let cluster: TopicCluster;
let kv: KvClient;
let admin: Admin;
const GROUPS = 20;
const consumers: Consumer[] = [];

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 1, { coordinators: 3 });
  kv = new KvClient({ bootstrap: cluster.coordinator.split(',') });
  admin = new Admin({ bootstrap: cluster.bootstrap });
  await admin.createTopic({ name: 'durable', partitions: 4 });
  for (let g = 0; g < GROUPS; g++)
    consumers.push(
      new Consumer({ bootstrap: cluster.bootstrap, groupId: `durable-${g}`, autoCommit: false }),
    );
});

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.close().catch(() => undefined)));
  await admin?.close();
  kv?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

async function leader(not?: number): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const id = (await kv.members().catch(() => undefined))?.leaderId;
    if (id && id !== not) return id;
    if (Date.now() > deadline) throw new Error('no coordinator leader within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('offset commits and a coordinator leader killed right after the ack', () => {
  it('every acknowledged offset is there on the next leader, two kills in a row', async () => {
    for (let round = 1; round <= 2; round++) {
      const before = await leader();
      // Many groups at once: their commits share the leader's batch (one Raft entry).
      await Promise.all(
        consumers.map((c, g) =>
          c.commit(
            [0, 1, 2, 3].map((partition) => ({
              topic: 'durable',
              partition,
              offset: round * 1000 + g * 10 + partition,
              metadata: `r${round}`,
            })),
          ),
        ),
      );
      await cluster.coordinators.get(before)!.proc.kill9();
      await leader(before);
      for (const [g, c] of consumers.entries()) {
        const got = await c.committed(
          [0, 1, 2, 3].map((p) => ({ topic: 'durable', partition: p })),
        );
        for (const p of [0, 1, 2, 3])
          expect(got.get(`durable\u0000${p}`), `group ${g} partition ${p} round ${round}`).toBe(
            round * 1000 + g * 10 + p,
          );
      }
      await cluster.startCoordinator(before);
    }
  }, 120_000);
});
