import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvClient } from '@strand/client';
import {
  freePort,
  type NodeProcess,
  type ProcessRegistry,
  ProxyMesh,
  tempDir,
} from '@strand/testkit';

export const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

export interface TestCluster {
  ids: number[];
  addresses: Map<number, string>;
  procs: Map<number, NodeProcess>;
  mesh: ProxyMesh;
  start(id: number): Promise<NodeProcess>;
  client(ids?: number[]): KvClient;
  /** The leader as the cluster reports it, waiting for one that is not in `not`. */
  leader(not?: number[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * `n` coordinators on loopback as separate processes. Raft traffic between them goes through
 * a fault-injecting proxy per directed pair; clients talk to the nodes directly.
 */
export async function startCluster(registry: ProcessRegistry, n: number): Promise<TestCluster> {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const addresses = new Map<number, string>();
  for (const id of ids) addresses.set(id, `127.0.0.1:${await freePort()}`);
  const mesh = await ProxyMesh.start(
    new Map(
      ids.map((id) => [id, { host: '127.0.0.1', port: Number(addresses.get(id)!.split(':')[1]) }]),
    ),
  );
  const dir = tempDir('strand-coord-');
  const peers = ids.map((id) => `${id}=${addresses.get(id)}`).join(',');
  const procs = new Map<number, NodeProcess>();
  const clients: KvClient[] = [];
  const start = async (id: number) => {
    const raftPeers = ids
      .filter((p) => p !== id)
      .map((p) => `${p}=${mesh.addressFor(id, p)}`)
      .join(',');
    const proc = await registry.start(MAIN, {
      name: `coordinator-${id}`,
      args: [
        '--id',
        String(id),
        '--listen',
        addresses.get(id)!,
        '--peers',
        peers,
        '--raft-peers',
        raftPeers,
        '--data',
        join(dir.path, `n${id}`),
        '--tick-ms',
        '50',
      ],
      readyLine: /listening on/,
    });
    procs.set(id, proc);
    return proc;
  };
  for (const id of ids) await start(id);
  const cluster: TestCluster = {
    ids,
    addresses,
    procs,
    mesh,
    start,
    client(only = ids) {
      const c = new KvClient({
        bootstrap: only.map((id) => addresses.get(id)!),
        timeoutMs: 3000,
        retries: 8,
      });
      clients.push(c);
      return c;
    },
    async leader(not: number[] = []) {
      const c = cluster.client(ids.filter((id) => !not.includes(id)));
      for (let i = 0; i < 100; i++) {
        try {
          const m = await c.members();
          if (m.leaderId && !not.includes(m.leaderId)) return m.leaderId;
        } catch {
          // no answer yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('no leader elected');
    },
    async close() {
      for (const c of clients) c.close();
      await registry.stopAll();
      await mesh.close();
      dir.cleanup();
    },
  };
  return cluster;
}
