import { join } from 'node:path';
import { Netbed, type NodeProcess, type ProcessRegistry, tempDir } from '@strand/testkit';
import { BROKER_MAIN, COORDINATOR_MAIN } from './cluster.test-util.js';

/**
 * Every node is a host of its own, as on real machines, so each uses the ports a deployment
 * would (no other process can hold them: a namespace has its own ports).
 */
const COORDINATOR_PORT = 2379;
const RAFT_PORT = 2380;
const BROKER_PORT = 9092;

export const WORKLOAD_MAIN = new URL(import.meta.resolve('@strand/testkit/workload')).pathname;

export interface NetnsCluster {
  bed: Netbed;
  /** Host names: c1.. for coordinators, b1.. for brokers, `client` for client processes. */
  coordinatorHost(id: number): string;
  brokerHost(id: number): string;
  coordinators: Map<number, NodeProcess>;
  brokers: Map<number, NodeProcess>;
  /** host:port of every broker and every coordinator, on their hosts' addresses. */
  bootstrap: string[];
  coordinatorAddresses: string[];
  startBroker(id: number): Promise<NodeProcess>;
  startCoordinator(id: number): Promise<NodeProcess>;
  /** Where broker `id` keeps its partition logs. */
  logDir(id: number): string;
  /** Runs the workload process (testkit's client) on the `client` host and returns its output. */
  client(job: object, timeoutMs?: number): Promise<NodeProcess>;
  /** Stops every process and removes the bed and the data. */
  close(): Promise<void>;
}

/** `coordinators` coordinators and `brokers` brokers, each on a host (namespace) of its own. */
export async function startNetnsCluster(
  registry: ProcessRegistry,
  opts: {
    coordinators: number;
    brokers: number;
    coordinatorArgs?: string[];
    brokerArgs?: string[];
  },
): Promise<NetnsCluster> {
  const cIds = Array.from({ length: opts.coordinators }, (_, i) => i + 1);
  const bIds = Array.from({ length: opts.brokers }, (_, i) => i + 1);
  const coordinatorHost = (id: number) => `c${id}`;
  const brokerHost = (id: number) => `b${id}`;
  const bed = Netbed.create([...cIds.map(coordinatorHost), ...bIds.map(brokerHost), 'client']);
  const dir = tempDir('strand-netns-');
  const cAddr = (id: number) => `${bed.address(coordinatorHost(id))}:${COORDINATOR_PORT}`;
  const bAddr = (id: number) => `${bed.address(brokerHost(id))}:${BROKER_PORT}`;
  const coordinatorAddresses = cIds.map(cAddr);
  const coordinators = new Map<number, NodeProcess>();
  const brokers = new Map<number, NodeProcess>();

  const startCoordinator = async (id: number) => {
    const host = bed.address(coordinatorHost(id));
    const others = cIds.filter((p) => p !== id);
    const proc = await registry.start(COORDINATOR_MAIN, {
      name: `coordinator-${id}`,
      netns: bed.host(coordinatorHost(id)).ns,
      args: [
        ...['--id', String(id), '--listen', cAddr(id), '--peer-listen', `${host}:${RAFT_PORT}`],
        ...['--peers', cIds.map((p) => `${p}=${cAddr(p)}`).join(',')],
        ...[
          '--raft-peers',
          others.map((p) => `${p}=${bed.address(coordinatorHost(p))}:${RAFT_PORT}`).join(','),
        ],
        ...['--data', join(dir.path, `coordinator-${id}`)],
        ...(opts.coordinatorArgs ?? []),
      ],
      readyLine: /listening on/,
    });
    coordinators.set(id, proc);
    return proc;
  };
  const startBroker = async (id: number) => {
    const proc = await registry.start(BROKER_MAIN, {
      name: `broker-${id}`,
      netns: bed.host(brokerHost(id)).ns,
      args: [
        ...['--id', String(id), '--listen', bAddr(id), '--advertise', bAddr(id)],
        ...['--coordinators', coordinatorAddresses.join(',')],
        ...['--data', join(dir.path, `broker-${id}`)],
        ...(opts.brokerArgs ?? []),
      ],
      readyLine: /broker \d+ listening on/,
      readyTimeoutMs: 30_000,
    });
    brokers.set(id, proc);
    return proc;
  };

  try {
    await Promise.all(cIds.map(startCoordinator));
    for (const id of bIds) await startBroker(id);
  } catch (err) {
    await registry.stopAll();
    bed.destroy();
    dir.cleanup();
    throw err;
  }
  return {
    bed,
    coordinatorHost,
    brokerHost,
    coordinators,
    brokers,
    bootstrap: bIds.map(bAddr),
    coordinatorAddresses,
    startBroker,
    startCoordinator,
    logDir: (id) => join(dir.path, `broker-${id}`, 'logs'),
    client: (job, timeoutMs = 120_000) =>
      registry.start(WORKLOAD_MAIN, {
        name: 'client',
        netns: bed.host('client').ns,
        args: [JSON.stringify(job)],
        readyLine: /^result |workload failed/,
        readyTimeoutMs: timeoutMs,
      }),
    close: async () => {
      await registry.stopAll();
      bed.destroy();
      dir.cleanup();
    },
  };
}
