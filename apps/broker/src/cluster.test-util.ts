import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type NodeProcess, type ProcessRegistry, tempDir } from '@strand/testkit';

export const BROKER_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
export const COORDINATOR_MAIN = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));

export interface TopicCluster {
  coordinator: string;
  brokers: Map<number, { address: string; proc: NodeProcess }>;
  bootstrap: string[];
  startBroker(id: number, extra?: string[]): Promise<NodeProcess>;
  cleanup(): void;
}

/** One coordinator and `n` brokers on loopback, each a separate process. */
export async function startTopicCluster(
  registry: ProcessRegistry,
  n: number,
  opts: { brokerArgs?: string[]; coordinatorArgs?: string[] } = {},
): Promise<TopicCluster> {
  const dir = tempDir('strand-topics-');
  const coordinator = `127.0.0.1:${await freePort()}`;
  await registry.start(COORDINATOR_MAIN, {
    name: 'coordinator',
    args: [
      '--id',
      '1',
      '--listen',
      coordinator,
      '--data',
      join(dir.path, 'coordinator'),
      ...(opts.coordinatorArgs ?? []),
    ],
    readyLine: /listening on/,
  });
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
    brokers,
    bootstrap: [...brokers.values()].map((b) => b.address),
    startBroker,
    cleanup: dir.cleanup,
  };
}
