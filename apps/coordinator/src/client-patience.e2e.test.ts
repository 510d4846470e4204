import { join } from 'node:path';
import { KvClient } from '@strand/client';
import { coordinatorLayout, eventually, ProcessRegistry, tempDir } from '@strand/testkit';
import { TimeoutError } from '@strand/wire';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN } from './cluster.test-util.js';

// A KV client waits out what a cluster's first election or a leader's death costs (with the
// default timing a new leader takes 1.2–2.4 s to emerge): the last CI saw the CLI report
// NOT_LEADER and brokers exit UNAVAILABLE after a client's five quick retries ran out first.

const registry = new ProcessRegistry();
const dir = tempDir('strand-patience-');
afterAll(async () => {
  await registry.stopAll();
  dir.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startAll(n: number, name: string) {
  const layout = await coordinatorLayout(n);
  const start = (id: number) =>
    registry.start(MAIN, {
      name: `${name}-${id}`,
      args: [...layout.args(id), '--data', join(dir.path, `${name}-${id}`)],
      readyLine: /listening on/,
    });
  return { layout, start };
}

// The member asked may be between leaders on a loaded machine (leaderId 0): ask until one is named.
const knownLeader = (client: KvClient, ids: readonly number[]) =>
  eventually('a named leader', async () => {
    const members = await client.members();
    return ids.includes(members.leaderId) ? members : undefined;
  });

/**
 * A put on the stream to the leader as it died may have been applied or not: the client says
 * so (TimeoutError) and does not retry it itself; the caller may, as here (the same put twice
 * leaves the same value). Not applied for sure (no leader, unreachable) is the client's to retry.
 */
async function putOnceMore(client: KvClient, key: string, value: string) {
  try {
    return await client.put(key, value);
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
    return client.put(key, value);
  }
}

describe('a KV client', () => {
  it('writes through a coordinator that starts 3 s after the write was asked', async () => {
    const { layout, start } = await startAll(1, 'late');
    const client = new KvClient({ bootstrap: [...layout.clients.values()], timeoutMs: 3000 });
    try {
      const put = client.put('early', 'bird');
      put.catch(() => undefined); // awaited below
      await sleep(3000);
      await start(1);
      const { revision } = await put;
      expect(revision).toBe(1);
      expect((await client.get('early'))?.value.toString()).toBe('bird');
    } finally {
      client.close();
    }
  }, 60_000);

  it("writes at once after the leader's SIGKILL: through the election of the next", async () => {
    const { layout, start } = await startAll(3, 'killed');
    const procs = await Promise.all(layout.ids.map(start));
    const client = new KvClient({ bootstrap: [...layout.clients.values()], timeoutMs: 3000 });
    try {
      await client.put('before', '1');
      const { leaderId, term } = await knownLeader(client, layout.ids);
      await procs[layout.ids.indexOf(leaderId)]!.kill9();
      for (let i = 0; i < 5; i++) await putOnceMore(client, `after-${i}`, String(i));
      const after = await client.members();
      expect(after.leaderId).not.toBe(leaderId);
      expect(after.term).toBeGreaterThan(term);
      expect((await client.get('after-4'))?.value.toString()).toBe('4');
    } finally {
      client.close();
    }
  }, 60_000);
});
