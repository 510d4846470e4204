import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.test-util.js';

const registry = new ProcessRegistry();
let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster(registry, 3);
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});

const handOff = (records: Record<string, unknown>[]) =>
  records.find((r) => r.msg === 'handed Raft leadership over');

describe('a coordinator stopped with SIGTERM', () => {
  it('hands Raft leadership to another voter before it stops, when it leads', async () => {
    const client = cluster.client();
    await client.put('before', 'v');
    const leader = await cluster.leader();
    const { term } = await client.members();
    const proc = cluster.procs.get(leader)!;
    expect(await proc.terminate()).toBe(0);

    const record = handOff(proc.records);
    expect(record, proc.lines.join('\n')).toBeDefined();
    const successor = record!.to as number;
    expect(successor).not.toBe(leader);
    // The successor leads at once, by the transfer's campaign: one term later, not after
    // further failed elections.
    const survivors = cluster.client(cluster.ids.filter((id) => id !== leader));
    let info = await survivors.members();
    // A follower that has not yet heard from the successor answers without a leader.
    for (let i = 0; i < 50 && !info.leaderId; i++) {
      await new Promise((r) => setTimeout(r, 100));
      info = await survivors.members();
    }
    expect(info.leaderId).toBe(successor);
    expect(info.term).toBe(term + 1);
    await survivors.put('after', 'v');
    expect((await survivors.get('before'))?.value.toString()).toBe('v');
    await cluster.start(leader);
  }, 60_000);

  it('hands nothing over when it is a follower', async () => {
    const leader = await cluster.leader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const proc = cluster.procs.get(follower)!;
    expect(await proc.terminate()).toBe(0);
    expect(handOff(proc.records)).toBeUndefined();
    expect(await cluster.leader()).toBe(leader);
    await cluster.start(follower);
  }, 60_000);
});
