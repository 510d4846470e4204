import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvClient } from '@strand/client';
import {
  adminUrlOf,
  coordinatorLayout,
  freePort,
  learnerArgs,
  type NodeProcess,
  ProcessRegistry,
  scrapeMetrics,
} from '@strand/testkit';
import { percentile } from './rate.js';
import { errorText, MiB, scratchDir, table, threadCpuMsOf } from './util.js';

const MAIN = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));
const VALUE = Buffer.alloc(100, 0x76);
/** etcd's default limit, and Strand's: the most operations one txn may carry. */
const TXN_OPS = 128;
const LOAD_IN_FLIGHT = 32;
const WRITERS = 256;
const WRITE_SECONDS = 5;
const PAGE = 10_000;
const LONG = 900_000;

interface Row {
  keys: number;
  loadRate?: number;
  writeRate?: number;
  writeP99?: number;
  scanRate?: number;
  snapshotMiB?: number;
  snapshotMs?: number;
  catchUpMs?: number;
  leaderRssMiB?: number;
  /** Where the leader's CPU went during the puts, in µs per put. */
  leaderCpu?: CpuPerPut;
  note?: string;
}

/**
 * Where the leader's CPU goes: `js` its main thread (JavaScript, and the GC pauses in it:
 * `gcMajor`, `gcMinor` are part of `js`), `helpers` Node's other threads, `rocksdb` RocksDB's
 * background threads.
 */
const CPU_PARTS = ['js', 'gcMajor', 'gcMinor', 'helpers', 'rocksdb'] as const;
type CpuPerPut = Record<(typeof CPU_PARTS)[number], number>;

const keyOf = (i: number) => `ks/${String(i).padStart(8, '0')}`;
const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** Puts keys 0..n-1 in txns of TXN_OPS puts, LOAD_IN_FLIGHT txns at a time; keys per second. */
async function load(kvs: KvClient[], n: number): Promise<{ rate: number; retried: number }> {
  let next = 0;
  let retried = 0;
  const started = performance.now();
  const worker = async (w: number) => {
    const kv = kvs[w % kvs.length]!;
    for (;;) {
      const from = next;
      if (from >= n) return;
      next = Math.min(n, from + TXN_OPS);
      const ops = [];
      for (let i = from; i < next; i++) ops.push({ put: { key: keyOf(i), value: VALUE } });
      // Under load a proposal can outlive the server's commit deadline; the same puts again
      // are harmless here, so a load goes on (and counts it) instead of ending the case.
      for (let attempt = 1; ; attempt++) {
        try {
          await kv.txn([], ops);
          break;
        } catch (err) {
          if (attempt >= 5) throw err;
          retried += 1;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: LOAD_IN_FLIGHT }, (_, w) => worker(w)));
  return { rate: n / ((performance.now() - started) / 1000), retried };
}

/** Single linearizable puts over existing keys, WRITERS in flight: rate and p99. */
async function overwrite(
  kvs: KvClient[],
  n: number,
): Promise<{ rate: number; p99: number; errors: number; puts: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + WRITE_SECONDS * 1000;
  const started = performance.now();
  const writer = async (w: number) => {
    const kv = kvs[w % kvs.length]!;
    for (let i = w; performance.now() < deadline; i += WRITERS) {
      const t = performance.now();
      try {
        await kv.put(keyOf((i * 7919) % n), VALUE);
        latencies.push(performance.now() - t);
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  latencies.sort((a, b) => a - b);
  return {
    rate: latencies.length / ((performance.now() - started) / 1000),
    p99: percentile(latencies, 99),
    errors,
    puts: latencies.length + errors,
  };
}

/** The leader's thread CPU and GC time so far (ms), to subtract one reading from another. */
async function leaderCpu(proc: NodeProcess): Promise<CpuPerPut> {
  const gc = await scrapeMetrics(adminUrlOf(proc));
  const threads = threadCpuMsOf(proc.pid);
  const gcMs = (kind: string) => gc.sum('nodejs_gc_duration_seconds_sum', { kind }) * 1000;
  return {
    js: threads.js,
    gcMajor: gcMs('major') + gcMs('incremental'),
    gcMinor: gcMs('minor'),
    helpers: threads.helpers,
    rocksdb: threads.rocksdb,
  };
}

/** Runs `work` (returning how many puts it made) and says what the leader's CPU did per put. */
async function cpuPerPut<T extends { puts: number }>(
  proc: NodeProcess,
  work: () => Promise<T>,
): Promise<T & { cpu: CpuPerPut }> {
  const before = await leaderCpu(proc);
  const result = await work();
  const after = await leaderCpu(proc);
  const per = (k: keyof CpuPerPut) => ((after[k] - before[k]) * 1000) / Math.max(1, result.puts);
  const cpu = Object.fromEntries(CPU_PARTS.map((k) => [k, per(k)])) as CpuPerPut;
  return { ...result, cpu };
}

/** A linearizable scan of the whole prefix in pages of PAGE keys; keys per second. */
async function scan(kv: KvClient, n: number): Promise<number> {
  const started = performance.now();
  let from = keyOf(0);
  let seen = 0;
  for (;;) {
    const page = await kv.range(from, { end: 'ks0', limit: PAGE });
    seen += page.kvs.length;
    const last = page.kvs.at(-1);
    if (!page.more || !last) break;
    from = `${last.key.toString()}\0`;
  }
  if (seen !== n) throw new Error(`the scan saw ${seen} keys of ${n}`);
  return n / ((performance.now() - started) / 1000);
}

/** The bytes of a backup of the whole store, streamed from the leader. */
async function snapshotBytes(kv: KvClient): Promise<number> {
  let bytes = 0;
  for await (const piece of kv.snapshot()) bytes += piece.length;
  return bytes;
}

/**
 * Adds coordinator 4 as a learner, starts it on an empty folder and times, from its start,
 * until it has applied everything the leader had committed when it was added (the leader
 * ships it a snapshot: the log before it was compacted away).
 */
async function catchUp(
  registry: ProcessRegistry,
  kv: KvClient,
  dir: string,
): Promise<{ ms: number; proc: NodeProcess }> {
  const address = `127.0.0.1:${await freePort()}`;
  const peer = `127.0.0.1:${await freePort()}`;
  const members = await kv.memberAdd(4, address, { peerAddress: peer });
  const { clusterId, commitIndex } = await kv.members();
  const started = performance.now();
  const proc = await registry.start(MAIN, {
    name: 'coordinator-4',
    args: [...learnerArgs(4, clusterId, members), '--data', join(dir, 'c4')],
    readyLine: /listening on/,
    readyTimeoutMs: LONG,
  });
  // A fresh client each time: one that has learnt the members asks whichever it likes.
  for (;;) {
    const learner = new KvClient({ bootstrap: [address], timeoutMs: 5000, retries: 0 });
    const own = await learner.members().catch(() => undefined);
    learner.close();
    if (own && own.answeredBy === 4 && own.appliedIndex >= commitIndex) break;
    if (performance.now() - started > LONG) throw new Error('the learner never caught up');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ms: performance.now() - started, proc };
}

async function keyspaceCase(n: number): Promise<Row> {
  const row: Row = { keys: n };
  const registry = new ProcessRegistry();
  const dir = scratchDir('strand-keyspace-bench-');
  const kvs: KvClient[] = [];
  try {
    const layout = await coordinatorLayout(3);
    const procs = new Map<number, NodeProcess>();
    await Promise.all(
      layout.ids.map(async (id) =>
        procs.set(
          id,
          await registry.start(MAIN, {
            name: `coordinator-${id}`,
            args: [
              ...layout.args(id),
              '--data',
              join(dir.path, `c${id}`),
              '--admin-listen',
              '127.0.0.1:0',
            ],
            readyLine: /listening on/,
            readyTimeoutMs: 60_000,
          }),
        ),
      ),
    );
    const bootstrap = [...layout.clients.values()];
    for (let i = 0; i < 8; i++) kvs.push(new KvClient({ bootstrap, timeoutMs: 30_000 }));
    for (const kv of kvs) await kv.members();
    const kv = kvs[0]!;
    const loaded = await load(kvs, n);
    row.loadRate = loaded.rate;
    if (loaded.retried > 0) row.note = `${loaded.retried} load txn(s) retried after a timeout`;
    const leaderId = (await kv.members()).leaderId;
    const written = await cpuPerPut(procs.get(leaderId)!, () => overwrite(kvs, n));
    row.writeRate = written.rate;
    row.writeP99 = written.p99;
    row.leaderCpu = written.cpu;
    if (written.errors > 0)
      row.note = [row.note, `${written.errors} put(s) failed`].filter(Boolean).join('; ');
    row.scanRate = await scan(kv, n);
    const t = performance.now();
    row.snapshotMiB = (await snapshotBytes(kv)) / MiB;
    row.snapshotMs = performance.now() - t;
    const leader = (await kv.members()).leaderId;
    row.leaderRssMiB = rssMiB(procs.get(leader)!.pid);
    row.catchUpMs = (await catchUp(registry, kv, dir.path)).ms;
  } catch (err) {
    row.note = [row.note, errorText(err)].filter(Boolean).join('; ');
  } finally {
    for (const kv of kvs) kv.close();
    await registry.stopAll();
    dir.cleanup();
  }
  return row;
}

/**
 * How the KV's cost grows with the number of keys: for each size a fresh 3-coordinator cluster
 * (real processes, Raft synced) is loaded with that many keys of 100 B in txns of 128 puts,
 * then measured: single-put rate over those keys (256 in flight), a paged linearizable scan of
 * them all, the size and time of a backup snapshot, the leader's RSS, and the time a new
 * coordinator takes from its start to have applied everything (snapshot install + log).
 *
 * Environment: STRAND_BENCH_KEYSPACE (comma list of key counts, default 10000,100000,1000000).
 */
export default async function keyspaceBench(): Promise<void> {
  const sizes = (process.env.STRAND_BENCH_KEYSPACE ?? '10000,100000,1000000')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const rows: Row[] = [];
  for (const n of sizes) {
    const row = await keyspaceCase(n);
    rows.push(row);
    console.log(`  ${n} keys: ${JSON.stringify(row)}`);
  }
  const fmt = (v: number | undefined, digits = 0) => (v === undefined ? '-' : v.toFixed(digits));
  console.log(
    `\nKV by number of keys: 3 coordinators, synced, 100 B values; load in txns of ${TXN_OPS} puts (${LOAD_IN_FLIGHT} in flight), puts ${WRITERS} in flight for ${WRITE_SECONDS} s, scan in pages of ${PAGE}`,
  );
  console.log(
    table(
      [
        'keys',
        'load keys/s',
        'puts/s',
        'put p99 ms',
        'scan keys/s',
        'snapshot MiB',
        'snapshot s',
        'leader RSS MiB',
        'new member caught up s',
        'note',
      ],
      rows.map((r) => [
        String(r.keys),
        fmt(r.loadRate),
        fmt(r.writeRate),
        fmt(r.writeP99, 1),
        fmt(r.scanRate),
        fmt(r.snapshotMiB, 1),
        fmt(r.snapshotMs === undefined ? undefined : r.snapshotMs / 1000, 2),
        fmt(r.leaderRssMiB),
        fmt(r.catchUpMs === undefined ? undefined : r.catchUpMs / 1000, 2),
        r.note ?? '',
      ]),
      1,
      9,
    ),
  );
  console.log(
    "\nThe leader during those puts, CPU µs per put: its JavaScript thread (and of that, GC pauses: major with incremental marking, minor), Node's helper threads (concurrent GC, libuv pool with RocksDB writes), RocksDB background threads (flush, compaction)",
  );
  console.log(
    table(
      ['keys', 'JS thread', 'GC major', 'GC minor', 'helpers', 'RocksDB background'],
      rows.map((r) => [String(r.keys), ...CPU_PARTS.map((k) => fmt(r.leaderCpu?.[k], 1))]),
      1,
    ),
  );
}
