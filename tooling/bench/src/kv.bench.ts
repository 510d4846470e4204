import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvClient } from '@strand/client';
import { coordinatorLayout, type NodeProcess, ProcessRegistry, tempDir } from '@strand/testkit';
import { startEtcd } from './peers/etcd.js';
import { type KvRole, type KvTarget, Skipped } from './peers/target.js';
import { percentile } from './rate.js';
import { cpuMsOf, envNumber, errorText, ownCpuMs, ratio, table } from './util.js';

const MAIN = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));
const MEMBERS = 3;
const VALUE = 'v'.repeat(100);

interface WriteFigures {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU µs per acknowledged write, by role (each server role's processes summed, the client). */
  cpu: { role: string; usPerWrite: number }[];
}

/**
 * CPU time used by each role while `work` runs. The figure that holds on a shared machine:
 * wall throughput moves with everyone else's load, CPU per write hardly does.
 */
async function cpuDuring<T>(
  roles: readonly KvRole[],
  work: () => Promise<T>,
): Promise<{ result: T; cpuMs: { role: string; ms: number }[] }> {
  const serverMs = () => roles.map((r) => r.pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0));
  const [s0, c0] = [serverMs(), ownCpuMs()];
  const result = await work();
  const [s1, c1] = [serverMs(), ownCpuMs()];
  const cpuMs = roles.map((r, i) => ({ role: r.role, ms: s1[i]! - s0[i]! }));
  cpuMs.push({ role: 'client', ms: c1 - c0 });
  return { result, cpuMs };
}

/** `concurrency` writers in flight over the target's channels, each a linearizable put of 100 B. */
async function writeLoad(
  target: KvTarget,
  concurrency: number,
  seconds: number,
): Promise<Omit<WriteFigures, 'cpu'> & { writes: number }> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let errors = 0;
  const writer = async (w: number) => {
    const c = target.channels[w % target.channels.length]!;
    let i = 0;
    while (performance.now() < deadline) {
      const t = performance.now();
      try {
        await c.put(`bench/${w}/${i++ % 100}`, VALUE);
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
  return {
    writes: latencies.length,
    rate: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
  };
}

/** Warms every channel up with one put, then runs the write load, CPU measured by role. */
async function measure(
  target: KvTarget,
  concurrency: number,
  seconds: number,
): Promise<WriteFigures> {
  await Promise.all(target.channels.map((c, i) => c.put(`warmup/${i}`, 'x')));
  const roles = await target.serverRoles();
  const { result, cpuMs } = await cpuDuring(roles, () => writeLoad(target, concurrency, seconds));
  const { writes, ...figures } = result;
  const perWrite = (ms: number) => (writes > 0 ? (ms * 1000) / writes : 0);
  const cpu = cpuMs.map((c) => ({ role: c.role, usPerWrite: perWrite(c.ms) }));
  cpu.push({ role: 'total', usPerWrite: perWrite(cpuMs.reduce((sum, c) => sum + c.ms, 0)) });
  return { ...figures, cpu };
}

/** The leader and each follower, as the cluster says now. */
async function coordinatorRoles(
  client: KvClient,
  pids: ReadonlyMap<number, number>,
): Promise<KvRole[]> {
  const { leaderId } = await client.members();
  const followers = [...pids].filter(([id]) => id !== leaderId);
  return [
    { role: 'leader', pids: [pids.get(leaderId)!] },
    ...followers.map(([id, pid]) => ({ role: `follower ${id}`, pids: [pid] })),
  ];
}

/** Kills the leader with -9 and times until the next write, through the others, succeeds. */
async function timeFailover(leader: NodeProcess, others: string[]): Promise<void> {
  const survivor = new KvClient({ bootstrap: others, timeoutMs: 500, retries: 50 });
  const killedAt = performance.now();
  await leader.kill9();
  for (;;) {
    try {
      await survivor.put('failover', 'ok');
      break;
    } catch {
      // keep trying until the new leader answers
    }
  }
  console.log(
    `Strand: kill -9 of the leader to the next successful write: ${(performance.now() - killedAt).toFixed(0)} ms`,
  );
  survivor.close();
}

/**
 * 3 coordinators on loopback (every Raft write synced to RocksDB) and, when `etcd` is
 * installed, 3 etcd members in the same shape, one after the other, figures side by side.
 */
export default async function kvBench(): Promise<void> {
  const concurrency = envNumber('STRAND_BENCH_KV_CONCURRENCY', 256);
  const seconds = envNumber('STRAND_BENCH_KV_SECONDS', 10);
  const channels = envNumber('STRAND_BENCH_KV_CHANNELS', 8);
  const rows: Array<{ name: string; describe: string; figures?: WriteFigures; note?: string }> = [];

  const registry = new ProcessRegistry();
  const dir = tempDir('strand-kv-bench-');
  try {
    const layout = await coordinatorLayout(MEMBERS);
    const { ids, clients: addr } = layout;
    const procs = new Map<number, NodeProcess>();
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
    const clients = Array.from(
      { length: channels },
      () => new KvClient({ bootstrap, timeoutMs: 5000 }),
    );
    for (const c of clients) await c.members();
    const strand: KvTarget = {
      name: 'Strand',
      describe: `${MEMBERS} coordinators, Raft log synced to RocksDB, KvClient x${channels}`,
      channels: clients,
      serverRoles: () =>
        coordinatorRoles(clients[0]!, new Map([...procs].map(([id, p]) => [id, p.pid]))),
      close: async () => {},
    };
    rows.push({ ...strand, figures: await measure(strand, concurrency, seconds) });

    const leader = (await clients[0]!.members()).leaderId;
    for (const c of clients) c.close();
    // Off with STRAND_BENCH_KV_FAILOVER=0, so that every coordinator ends normally (and
    // writes the profile STRAND_NODE_FLAGS="--cpu-prof" asked for).
    if (process.env.STRAND_BENCH_KV_FAILOVER !== '0')
      await timeFailover(
        procs.get(leader)!,
        bootstrap.filter((a) => a !== addr.get(leader)),
      );
  } finally {
    await registry.stopAll();
    dir.cleanup();
  }

  try {
    const etcd = await startEtcd(MEMBERS, channels);
    try {
      rows.push({ ...etcd, figures: await measure(etcd, concurrency, seconds) });
    } finally {
      await etcd.close();
    }
  } catch (err) {
    const note = err instanceof Skipped ? `skipped: ${err.message}` : `failed: ${errorText(err)}`;
    rows.push({ name: 'etcd', describe: '-', note });
  }

  console.log(
    `\nlinearizable writes, ${MEMBERS} members on loopback, synced, ${concurrency} in flight over ${channels} channels, 100 B values, ${seconds} s each`,
  );
  console.log(
    table(
      ['system', 'writes/s', 'p50 ms', 'p99 ms', 'errors', 'how'],
      rows.map((r) =>
        r.figures
          ? [
              r.name,
              r.figures.rate.toFixed(0),
              r.figures.p50.toFixed(1),
              r.figures.p99.toFixed(1),
              String(r.figures.errors),
              r.describe,
            ]
          : [r.name, '-', '-', '-', '-', r.note ?? ''],
      ),
      1,
      5,
    ),
  );
  console.log('\nCPU µs per write (user + system, over the write phase; robust to machine load)');
  console.log(
    table(
      ['system', 'role', 'µs/write'],
      rows.flatMap((r) =>
        (r.figures?.cpu ?? []).map((c) => [r.name, c.role, c.usPerWrite.toFixed(1)]),
      ),
      2,
    ),
  );
  const [s, e] = [rows[0]?.figures, rows[1]?.figures];
  if (s && e) {
    console.log(
      `Strand/etcd: writes/s ${ratio(s.rate, e.rate)}; latency etcd/Strand (above 1x: Strand answers sooner): p50 ${ratio(e.p50, s.p50)}, p99 ${ratio(e.p99, s.p99)}`,
    );
  }
}
