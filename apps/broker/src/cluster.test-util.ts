import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type NodeProcess, type ProcessRegistry, tempDir } from '@strand/testkit';

export const BROKER_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
export const COORDINATOR_MAIN = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));

export interface TopicCluster {
  coordinator: string;
  coordinators: Map<number, { address: string; proc: NodeProcess }>;
  brokers: Map<number, { address: string; proc: NodeProcess }>;
  bootstrap: string[];
  startBroker(id: number, extra?: string[]): Promise<NodeProcess>;
  startCoordinator(id: number): Promise<NodeProcess>;
  /** Where broker `id` keeps its partition logs. */
  logDir(id: number): string;
  cleanup(): void;
}

/** `coordinators` (default 1) coordinators and `n` brokers on loopback, each a separate process. */
export async function startTopicCluster(
  registry: ProcessRegistry,
  n: number,
  opts: { brokerArgs?: string[]; coordinatorArgs?: string[]; coordinators?: number } = {},
): Promise<TopicCluster> {
  const dir = tempDir('strand-topics-');
  const ids = Array.from({ length: opts.coordinators ?? 1 }, (_, i) => i + 1);
  const addresses = new Map<number, string>();
  for (const id of ids) addresses.set(id, `127.0.0.1:${await freePort()}`);
  const peers = ids.map((id) => `${id}=${addresses.get(id)}`).join(',');
  const coordinators = new Map<number, { address: string; proc: NodeProcess }>();
  const startCoordinator = async (id: number) => {
    const proc = await registry.start(COORDINATOR_MAIN, {
      name: `coordinator-${id}`,
      args: [
        '--id',
        String(id),
        '--listen',
        addresses.get(id)!,
        '--peers',
        peers,
        '--data',
        join(dir.path, `coordinator-${id}`),
        ...(opts.coordinatorArgs ?? []),
      ],
      readyLine: /listening on/,
    });
    coordinators.set(id, { address: addresses.get(id)!, proc });
    return proc;
  };
  await Promise.all(ids.map(startCoordinator));
  const coordinator = [...addresses.values()].join(',');
  const brokers = new Map<number, { address: string; proc: NodeProcess }>();
  const startBroker = async (id: number, extra: string[] = []) => {
    const address = brokers.get(id)?.address ?? `127.0.0.1:${await freePort()}`;
    const proc = await registry.start(BROKER_MAIN, {
      name: `broker-${id}`,
      args: [
        '--id',
        String(id),
        '--listen',
        address,
        '--coordinators',
        coordinator,
        '--data',
        join(dir.path, `broker-${id}`),
        ...(opts.brokerArgs ?? []),
        ...extra,
      ],
      readyLine: /broker \d+ listening on/,
    });
    brokers.set(id, { address, proc });
    return proc;
  };
  for (let id = 1; id <= n; id++) await startBroker(id);
  return {
    coordinator,
    coordinators,
    brokers,
    bootstrap: [...brokers.values()].map((b) => b.address),
    startBroker,
    startCoordinator,
    logDir: (id) => join(dir.path, `broker-${id}`, 'logs'),
    cleanup: dir.cleanup,
  };
}
