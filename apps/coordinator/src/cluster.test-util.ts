import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvClient } from '@strand/client';
import {
  type CoordinatorLayout,
  coordinatorLayout,
  type NodeProcess,
  type ProcessRegistry,
  ProxyMesh,
  tempDir,
} from '@strand/testkit';

export const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

export interface TestCluster {
  ids: number[];
  /** Client addresses. */
  addresses: Map<number, string>;
  layout: CoordinatorLayout;
  procs: Map<number, NodeProcess>;
  mesh: ProxyMesh;
  /** Where each node keeps its data: `n<id>` under it. */
  dataDir: string;
  mainScript: string;
  /** Every flag node `id` starts with. */
  argsFor(id: number): string[];
  start(id: number): Promise<NodeProcess>;
  client(ids?: number[]): KvClient;
  /** The leader as the cluster reports it, waiting for one that is not in `not`. */
  leader(not?: number[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * `n` coordinators on loopback as separate processes. Raft traffic between them goes from
 * each to the others' peer listeners through a fault-injecting proxy per directed pair;
 * clients talk to the nodes' client listeners directly.
 */
export async function startCluster(
  registry: ProcessRegistry,
  n: number,
  /** Flags for every node, or for each by id. */
  extraArgs: string[] | ((id: number) => string[]) = [],
): Promise<TestCluster> {
  const layout = await coordinatorLayout(n);
  const { ids, clients: addresses } = layout;
  const mesh = await ProxyMesh.start(
    new Map(
      ids.map((id) => [
        id,
        { host: '127.0.0.1', port: Number(layout.peers.get(id)!.split(':')[1]) },
      ]),
    ),
  );
  const dir = tempDir('strand-coord-');
  const procs = new Map<number, NodeProcess>();
  const clients: KvClient[] = [];
  const argsFor = (id: number) => [
    ...layout.args(id, (to) => mesh.addressFor(id, to)),
    // Quick elections (500–1000 ms): these tests kill and cut off leaders often.
    ...['--data', join(dir.path, `n${id}`), '--tick-ms', '50', '--election-ticks', '10'],
    ...(typeof extraArgs === 'function' ? extraArgs(id) : extraArgs),
  ];
  const start = async (id: number) => {
    const proc = await registry.start(MAIN, {
      name: `coordinator-${id}`,
      args: argsFor(id),
      readyLine: /listening on/,
    });
    procs.set(id, proc);
    return proc;
  };
  for (const id of ids) await start(id);
  const cluster: TestCluster = {
    ids,
    addresses,
    layout,
    procs,
    mesh,
    dataDir: dir.path,
    mainScript: MAIN,
    argsFor,
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
