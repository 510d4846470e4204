import { join } from 'node:path';
import { Admin, Producer } from '@strand/client';
import {
  coordinatorLayout,
  eventually,
  freePort,
  type NodeProcess,
  ProcessRegistry,
} from '@strand/testkit';
import { percentile } from './rate.js';
import { envNumber, errorText, resolveMain, scratchDir, table } from './util.js';

/**
 * A rolling restart under load: 3 coordinators and 3 brokers as real processes on loopback, a
 * topic of 6 partitions with replication factor 3, one acks=all send() at a time round the
 * partitions. Every broker, then every coordinator, is stopped with SIGTERM (controlled
 * shutdown, Raft hand-off) and started again, each back in place before the next goes. Reports
 * the longest produce stall (the longest time between two acknowledgements), send latency and
 * how many sends failed. STRAND_BENCH_ROLLING_ROUNDS (1) restarts of the whole cluster.
 */
const PARTITIONS = 6;
const TOPIC = 'rolling';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export default async function rollingBench(): Promise<void> {
  const rounds = Math.floor(envNumber('STRAND_BENCH_ROLLING_ROUNDS', 1));
  const coordinatorMain = resolveMain('@strand/coordinator/main');
  const brokerMain = resolveMain('@strand/broker/main');
  if (!coordinatorMain || !brokerMain) {
    console.log('skipped: @strand/coordinator or @strand/broker is not built (dist/main.js)');
    return;
  }
  const registry = new ProcessRegistry();
  const dir = scratchDir('strand-bench-rolling-');
  const layout = await coordinatorLayout(3);
  const coordinators = new Map<number, NodeProcess>();
  const brokers = new Map<number, { address: string; proc: NodeProcess }>();
  const bootstrap: string[] = [];
  const startCoordinator = async (id: number) => {
    coordinators.set(
      id,
      await registry.start(coordinatorMain, {
        name: `coordinator-${id}`,
        args: [...layout.args(id), '--data', join(dir.path, `coordinator-${id}`)],
        readyLine: /listening on/,
        readyTimeoutMs: 60_000,
      }),
    );
  };
  const startBroker = async (id: number, address: string) => {
    const proc = await registry.start(brokerMain, {
      name: `broker-${id}`,
      args: [
        ...['--id', String(id), '--listen', address],
        ...['--coordinators', [...layout.clients.values()].join(',')],
        ...['--data', join(dir.path, `broker-${id}`)],
      ],
      readyLine: /broker \d+ listening on/,
      readyTimeoutMs: 60_000,
    });
    brokers.set(id, { address, proc });
  };
  let admin: Admin | undefined;
  try {
    await Promise.all(layout.ids.map(startCoordinator));
    for (const id of [1, 2, 3]) {
      const address = `127.0.0.1:${await freePort()}`;
      bootstrap.push(address);
      await startBroker(id, address);
    }
    const a = new Admin({ bootstrap });
    admin = a;
    await a.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
    const fullIsr = () =>
      eventually(
        'every partition with its full ISR',
        async () => {
          const { partitions } = await a.describeTopic(TOPIC);
          return partitions.every((p) => p.isr.length === 3 && p.leader > 0) ? true : undefined;
        },
        120_000,
      );
    await fullIsr();
    const rows: string[][] = [];
    for (let round = 1; round <= rounds; round++) {
      const producer = new Producer({ bootstrap, acks: 'all', lingerMs: 0 });
      const latencies: number[] = [];
      let failed = 0;
      let stopped = false;
      let longestStall = 0;
      const traffic = (async () => {
        let last = performance.now();
        for (let i = 0; !stopped; i++) {
          const t0 = performance.now();
          try {
            await producer.send({
              topic: TOPIC,
              partition: i % PARTITIONS,
              value: `r${round}-${i}`,
            });
            latencies.push(performance.now() - t0);
          } catch (err) {
            failed += 1;
            if (failed <= 3) console.log(`send failed: ${errorText(err)}`);
          }
          const now = performance.now();
          longestStall = Math.max(longestStall, now - last);
          last = now;
        }
      })();
      const t0 = performance.now();
      await sleep(1_000);
      for (const [id, b] of [...brokers]) {
        await b.proc.terminate(30_000);
        await startBroker(id, b.address);
        await fullIsr();
      }
      for (const id of layout.ids) {
        await coordinators.get(id)!.terminate(30_000);
        await startCoordinator(id);
        await eventually(`coordinator ${id} serving`, async () =>
          (await a.describeTopic(TOPIC)).partitions.length === PARTITIONS ? true : undefined,
        );
        await sleep(1_000);
      }
      await sleep(1_000);
      stopped = true;
      await traffic;
      await producer.close();
      const sorted = latencies.sort((x, y) => x - y);
      rows.push([
        String(round),
        ((performance.now() - t0) / 1000).toFixed(1),
        String(sorted.length),
        String(failed),
        String(Math.round(longestStall)),
        percentile(sorted, 50).toFixed(1),
        percentile(sorted, 99).toFixed(1),
      ]);
    }
    console.log(
      'rolling restart: 3 brokers then 3 coordinators, SIGTERM and start, under acks=all send() one at a time',
    );
    console.log(
      table(
        [
          'round',
          'restart s',
          'acknowledged',
          'failed',
          'longest stall ms',
          'send p50 ms',
          'send p99 ms',
        ],
        rows,
      ),
    );
  } finally {
    await admin?.close();
    await registry.stopAll();
    dir.cleanup();
  }
}
