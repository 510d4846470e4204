import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvClient } from '@strand/client';
import { coordinatorLayout, ProcessRegistry, tempDir } from '@strand/testkit';
import { envNumber } from './util.js';

const MAIN = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** 3 coordinators on loopback, every Raft write synced to RocksDB. */
export default async function kvBench(): Promise<void> {
  const concurrency = envNumber('STRAND_BENCH_KV_CONCURRENCY', 256);
  const seconds = envNumber('STRAND_BENCH_KV_SECONDS', 10);
  const registry = new ProcessRegistry();
  const dir = tempDir('strand-kv-bench-');
  try {
    const layout = await coordinatorLayout(3);
    const { ids, clients: addr } = layout;
    const procs = new Map<number, Awaited<ReturnType<ProcessRegistry['start']>>>();
    for (const id of ids) {
      procs.set(
        id,
        await registry.start(MAIN, {
          args: [...layout.args(id), '--data', join(dir.path, `n${id}`)],
          readyLine: /listening on/,
        }),
      );
    }
    const bootstrap = [...addr.values()];
    const clients = Array.from({ length: 8 }, () => new KvClient({ bootstrap, timeoutMs: 5000 }));
    await clients[0]!.put('warmup', 'x');
    for (const c of clients) await c.members();

    // Throughput and latency: `concurrency` writers in flight, each a linearizable put.
    const latencies: number[] = [];
    const deadline = performance.now() + seconds * 1000;
    let errors = 0;
    const writer = async (w: number) => {
      const c = clients[w % clients.length]!;
      let i = 0;
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          await c.put(`bench/${w}/${i++ % 100}`, 'v'.repeat(100));
          latencies.push(performance.now() - t);
        } catch {
          errors += 1;
        }
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, (_, w) => writer(w)));
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    console.log(
      `linearizable writes (3 nodes, synced, ${concurrency} in flight, 100 B values): ${(latencies.length / elapsed).toFixed(0)} writes/s`,
    );
    console.log(
      `latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, errors ${errors}`,
    );

    // Failover: kill -9 the leader, time until the next write succeeds.
    const leader = (await clients[0]!.members()).leaderId;
    const survivor = new KvClient({
      bootstrap: bootstrap.filter((a) => a !== addr.get(leader)),
      timeoutMs: 500,
      retries: 50,
    });
    const killedAt = performance.now();
    await procs.get(leader)!.kill9();
    for (;;) {
      try {
        await survivor.put('failover', 'ok');
        break;
      } catch {
        // keep trying until the new leader answers
      }
    }
    console.log(
      `kill -9 of the leader to the next successful write: ${(performance.now() - killedAt).toFixed(0)} ms`,
    );
    survivor.close();
    for (const c of clients) c.close();
  } finally {
    await registry.stopAll();
    dir.cleanup();
  }
}
