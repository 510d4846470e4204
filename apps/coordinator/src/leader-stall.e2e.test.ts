import { join } from 'node:path';
import { KvClient } from '@strand/client';
import { coordinatorLayout, ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN } from './cluster.test-util.js';

const registry = new ProcessRegistry();
const dir = tempDir('strand-stall-');
afterAll(async () => {
  await registry.stopAll();
  dir.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A leader busy with clients on a loaded machine is alive but late: the groups bench's
 * 5,000 members kept the leader's event loop from sending heartbeats for up to 1.2 s, and
 * with a 300–600 ms election timeout every such stall cost an election (and every group a
 * rebalance). With the default timing (no Raft flags), a leader stopped for 0.6 s (longer
 * than any election timeout used to be) keeps leading, in the same term.
 */
describe('a Raft leader that stalls for 0.6 s', () => {
  it('is still the leader, in the same term, afterwards', async () => {
    const layout = await coordinatorLayout(3);
    const procs = new Map(
      await Promise.all(
        layout.ids.map(
          async (id) =>
            [
              id,
              await registry.start(MAIN, {
                name: `coordinator-${id}`,
                args: [...layout.args(id), '--data', join(dir.path, `n${id}`)],
                readyLine: /listening on/,
              }),
            ] as const,
        ),
      ),
    );
    const client = new KvClient({ bootstrap: [...layout.clients.values()], timeoutMs: 3000 });
    try {
      // The first election takes up to 2.4 s: wait for a leader every member knows.
      let before = await client.members().catch(() => ({ leaderId: 0, term: 0 }));
      for (let i = 0; i < 100 && !(before.leaderId > 0); i++) {
        await sleep(100);
        before = await client.members().catch(() => before);
      }
      expect(before.leaderId).toBeGreaterThan(0);
      await sleep(1000);
      before = await client.members();
      await client.put('k', 'v');
      const leader = procs.get(before.leaderId)!;
      for (let i = 0; i < 3; i++) {
        leader.pause();
        await sleep(600);
        leader.resume();
        // Long enough for the followers' election, had one started, to end.
        await sleep(2500);
      }
      const after = await client.members();
      expect({ leader: after.leaderId, term: after.term }).toEqual({
        leader: before.leaderId,
        term: before.term,
      });
      await client.put('k', 'w');
    } finally {
      client.close();
    }
  }, 60_000);
});
