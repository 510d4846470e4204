import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { KvClient } from '@strand/client';
import { encodeKvCommand, encodeMessage, MessageType } from '@strand/kv';
import { ProcessRegistry } from '@strand/testkit';
import { kvService } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.test-util.js';

// The attack this closes: a client with no credentials sent AppendEntries on the client port
// claiming to be node 1 at a higher term, with a put for /strand/pwned in it: it was
// committed and served, and leadership churned.

const registry = new ProcessRegistry();
let cluster: TestCluster;
let client: KvClient;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  cluster = await startCluster(registry, 3);
  await cluster.leader();
  client = cluster.client();
  await client.put('before', 'x');
});
afterAll(async () => {
  await cluster.close();
});

/** An AppendEntries from node `from` at a term far ahead, carrying a put of /strand/pwned. */
function forgedAppend(from: number, to: number, term: number): Buffer {
  const put = encodeKvCommand(
    { t: 'put', key: Buffer.from('/strand/pwned'), value: Buffer.from('yes') },
    'forged-1',
  );
  return Buffer.from(
    encodeMessage({
      type: MessageType.App,
      from,
      to,
      term,
      logTerm: 0,
      index: 0,
      entries: [{ term, index: 1, type: 0, data: put }],
      commit: 1,
      reject: false,
      rejectHint: 0,
    }),
  );
}

/** Streams `messages` to a Raft service at `address` with `headers`; resolves with the status. */
function sendRaft(
  address: string,
  headers: Record<string, string>,
  messages: Buffer[],
): Promise<{ code: number; details: string; strandCode?: string }> {
  const Raft = kvService('Raft');
  const c = new Raft(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return new Promise((resolve) => {
    const stream = (
      c as unknown as {
        Stream: (
          md: grpc.Metadata,
          cb: (err: grpc.ServiceError | null) => void,
        ) => grpc.ClientWritableStream<unknown>;
      }
    ).Stream(md, (err) => {
      c.close();
      resolve({
        code: err?.code ?? grpc.status.OK,
        details: err?.details ?? '',
        strandCode: err?.metadata?.get('strand-code')[0]?.toString(),
      });
    });
    for (const data of messages) stream.write({ data });
    setTimeout(() => stream.end(), 300);
  });
}

const clusterIdOf = (id: number) =>
  /cluster=([A-Za-z0-9._-]+)/.exec(cluster.procs.get(id)!.output())![1]!;

describe('Raft traffic on a listener of its own, from this cluster’s voters only', () => {
  it('refuses forged messages on the client port, from a non-peer, from another cluster id and on the wrong stream', async () => {
    const leader = await cluster.leader();
    const before = await client.members();
    const target = leader === 1 ? 2 : 1;
    const forged = forgedAppend(leader, target, before.term + 100);
    const clusterId = clusterIdOf(target);

    // The client port has no Raft service at all.
    const onClientPort = await sendRaft(cluster.addresses.get(target)!, {}, [forged]);
    expect(onClientPort.code).toBe(grpc.status.UNIMPLEMENTED);

    // The peer port: no cluster id, another cluster's, a node that is not a voter, and a
    // voter's stream carrying another node's message.
    const peer = cluster.layout.peers.get(target)!;
    const bare = await sendRaft(peer, {}, [forged]);
    expect(bare.strandCode).toBe('INCONSISTENT_CLUSTER_ID');
    const other = await sendRaft(
      peer,
      { 'strand-cluster-id': 'another-cluster', 'strand-from': String(leader) },
      [forged],
    );
    expect(other.strandCode).toBe('INCONSISTENT_CLUSTER_ID');
    expect(other.details).toMatch(/another-cluster/);
    const stranger = await sendRaft(peer, { 'strand-cluster-id': clusterId, 'strand-from': '99' }, [
      forgedAppend(99, target, before.term + 100),
    ]);
    expect(stranger.strandCode).toBe('AUTHENTICATION_FAILED');
    const third = [1, 2, 3].find((id) => id !== leader && id !== target)!;
    const mixed = await sendRaft(
      peer,
      { 'strand-cluster-id': clusterId, 'strand-from': String(third) },
      [forged],
    );
    expect(mixed.strandCode).toBe('AUTHENTICATION_FAILED');

    // Nothing was taken: same term, same leader, no key, and the refusals were logged.
    await sleep(500);
    const after = await client.members();
    expect(after.term).toBe(before.term);
    expect(after.leaderId).toBe(leader);
    expect(await client.get('/strand/pwned')).toBeUndefined();
    expect(cluster.procs.get(target)!.output()).toMatch(
      /refused Raft traffic remote=\S+ code=\S+ reason=.*another-cluster/,
    );
    expect(cluster.procs.get(target)!.output()).toMatch(/node \\"99\\" is not a member/);
  });

  it('a node of another cluster is refused by the others, and refuses them; the cluster carries on', async () => {
    // Node 3 comes back with an empty data folder and another cluster's id.
    const leader = await cluster.leader();
    const victim = leader === 3 ? 2 : 3;
    await cluster.procs.get(victim)!.terminate();
    rmSync(join(cluster.dataDir, `n${victim}`), { recursive: true, force: true });
    const stranger = await registry.start(cluster.mainScript, {
      name: `coordinator-${victim}-elsewhere`,
      args: [...cluster.argsFor(victim), '--cluster-id', 'somewhere-else'],
      readyLine: /listening on/,
    });
    await client.put('after', 'y');
    const others = [1, 2, 3].filter((id) => id !== victim);
    for (const id of others)
      await cluster.procs.get(id)!.waitFor(/refused Raft traffic remote=.*somewhere-else/, 20_000);
    await stranger.waitFor(/a Raft peer refused us peer=\d+ address=\S+ reason=.*cluster/, 20_000);
    expect((await client.get('after'))?.value.toString()).toBe('y');
    await stranger.terminate();

    // Its data folder now belongs to that cluster: started as this one's, it says so and stops.
    const refused = registry.spawnNode(cluster.mainScript, {
      args: [...cluster.argsFor(victim), '--cluster-id', clusterIdOf(others[0]!)],
    });
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toMatch(/belongs to cluster somewhere-else/);
  });
});
