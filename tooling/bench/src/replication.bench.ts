import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Producer, type ProducerOptions, type TopicDescription } from '@strand/client';
import { freePort, type NodeProcess, ProcessRegistry } from '@strand/testkit';
import { pacedLatency, percentile } from './rate.js';
import { breakdown, parseTrace, type TraceLine } from './replication-trace.js';
import {
  benchValue,
  cpuMsOf,
  envNumber,
  errorText,
  MiB,
  ownCpuMs,
  resolveMain,
  scratchDir,
  table,
} from './util.js';

/**
 * Replication on this machine: 1 coordinator and 3 brokers as real processes on loopback, one
 * topic of 3 partitions with replication factor 3 and min.insync.replicas 2, the SDK's Producer
 * with acks=all (idempotent, its defaults otherwise), 1 KiB records.
 *
 * - Throughput: N records through sendBatch() of 1,024 records (and through send() per record),
 *   each run awaited to the last acknowledgement.
 * - Latency: send() per record paced at half of the measured send() peak; p50/p99 from the call
 *   to the acknowledgement.
 * - Failover: one acks=all record at a time to partition 0 in a loop; kill -9 of partition 0's
 *   leader; time from the kill to the first successful send started after it. Three rounds, the
 *   killed broker restarted (same id, address and data) and full ISR awaited in between.
 *
 * Nothing here asserts a number. Also a reference latency run at a low rate. Environment: STRAND_BENCH_REPL_RECORDS (300,000),
 * STRAND_BENCH_REPL_LATENCY_SECONDS (3), STRAND_BENCH_REPL_TICK_MS (1),
 * STRAND_BENCH_REPL_MAX_SECONDS (cap per throughput phase, 30), STRAND_BENCH_REPL_ROUNDS (3),
 * STRAND_BENCH_REPL_LOW_RATE (the reference latency run, 1,000 rec/s),
 * STRAND_BENCH_LINGER_MS (the producers' lingerMs; the SDK's default otherwise),
 * STRAND_BENCH_REPL_TRACE (1: the brokers trace replication, and each latency run's batches are
 * broken down by stage, from arrival at the leader to committed).
 */

const RECORD_BYTES = 1024;
const CHUNK = 1024;
const PARTITIONS = 3;
const REPLICATION = 3;
const MB = 1_000_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function fmtRate(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return Math.round(n).toLocaleString('en-US');
}

function fmtNum(n: number | undefined, digits: number): string {
  return n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

/** Resolves with `p`, or rejects after `ms` (the work behind `p` keeps going). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function closeQuietly(c: { close(): Promise<void> | void }, what: string): Promise<void> {
  try {
    await within(Promise.resolve(c.close()), 5_000, `${what}.close()`);
  } catch (err) {
    console.log(`  (${errorText(err)})`);
  }
}

function describeQuick(a: Admin, topic: string): Promise<TopicDescription> {
  return within(a.describeTopic(topic), 1_000, 'describeTopic');
}

interface Broker {
  id: number;
  address: string;
  data: string;
  proc: NodeProcess;
}

/** The cluster this bench runs: every process in `registry`, ended by pid. */
class Cluster {
  readonly registry = new ProcessRegistry();
  readonly brokers = new Map<number, Broker>();
  coordinator = '';
  private coordinatorProc: NodeProcess | undefined;

  constructor(
    private readonly coordinatorMain: string,
    private readonly brokerMain: string,
    private readonly dir: string,
    private readonly trace: boolean,
  ) {}

  traceFile(id: number): string {
    return join(this.dir, `trace-${id}.jsonl`);
  }

  /** Every broker's trace lines so far (empty unless tracing). */
  traceLines(): TraceLine[] {
    if (!this.trace) return [];
    return [...this.brokers.keys()].flatMap((id) =>
      existsSync(this.traceFile(id)) ? parseTrace(readFileSync(this.traceFile(id), 'utf8')) : [],
    );
  }

  get bootstrap(): string[] {
    return [...this.brokers.values()].map((b) => b.address);
  }

  async start(ids: number[]): Promise<void> {
    this.coordinator = `127.0.0.1:${await freePort()}`;
    this.coordinatorProc = await this.registry.start(this.coordinatorMain, {
      name: 'coordinator',
      args: [
        '--id',
        '1',
        '--listen',
        this.coordinator,
        '--data',
        join(this.dir, 'coordinator'),
        '--broker-session-timeout-ms',
        '2000',
        '--broker-heartbeat-ms',
        '200',
      ],
      readyLine: /listening on/,
    });
    for (const id of ids) {
      const address = `127.0.0.1:${await freePort()}`;
      const data = join(this.dir, `broker-${id}`);
      const proc = await this.spawnBroker(id, address, data);
      this.brokers.set(id, { id, address, data, proc });
    }
  }

  private spawnBroker(id: number, address: string, data: string): Promise<NodeProcess> {
    return this.registry.start(this.brokerMain, {
      name: `broker-${id}`,
      args: [
        '--id',
        String(id),
        '--listen',
        address,
        '--coordinators',
        this.coordinator,
        '--data',
        data,
        '--replica-lag-time-max-ms',
        '5000',
        ...(this.trace ? ['--trace-replication', this.traceFile(id)] : []),
      ],
      readyLine: /broker \d+ listening on/,
      readyTimeoutMs: 60_000,
    });
  }

  /** CPU ms used so far: by every broker together, by the coordinator, by this process. */
  cpuMs(): { brokers: number; coordinator: number; client: number } {
    let brokers = 0;
    for (const b of this.brokers.values()) if (b.proc.running) brokers += cpuMsOf(b.proc.pid);
    const c = this.coordinatorProc;
    return { brokers, coordinator: c?.running ? cpuMsOf(c.pid) : 0, client: ownCpuMs() };
  }

  async kill9(id: number): Promise<void> {
    const b = this.brokers.get(id);
    if (!b) throw new Error(`no broker ${id}`);
    await b.proc.kill9();
  }

  /** Starts broker `id` again: same id, address and data directory. */
  async restart(id: number): Promise<void> {
    const b = this.brokers.get(id);
    if (!b) throw new Error(`no broker ${id}`);
    if (b.proc.running) throw new Error(`broker ${id} is still running`);
    b.proc = await this.spawnBroker(id, b.address, b.data);
  }

  async stop(): Promise<void> {
    await this.registry.stopAll();
  }
}

function fullIsr(d: TopicDescription): boolean {
  return (
    d.partitions.length === PARTITIONS &&
    d.partitions.every(
      (p) =>
        p.leader >= 0 &&
        p.replicas.length === REPLICATION &&
        p.isr.length === REPLICATION &&
        p.replicas.every((r) => p.isr.includes(r)),
    )
  );
}

function describeIsr(d: TopicDescription | undefined): string {
  if (!d) return 'no description';
  return d.partitions
    .map((p) => `p${p.partition} leader ${p.leader} epoch ${p.leaderEpoch} isr [${p.isr}]`)
    .join('; ');
}

/** Polls describeTopic until every partition has a leader and a full ISR; returns the wait. */
async function waitFullIsr(admin: Admin, topic: string, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  let last: TopicDescription | undefined;
  let lastErr: unknown;
  while (performance.now() - t0 < timeoutMs) {
    try {
      last = await within(admin.describeTopic(topic), 5_000, 'describeTopic');
      if (fullIsr(last)) return performance.now() - t0;
    } catch (err) {
      lastErr = err;
    }
    await sleep(50);
  }
  throw new Error(
    `topic ${topic}: no full ISR after ${timeoutMs} ms (${describeIsr(last)}${lastErr ? `; last error ${errorText(lastErr)}` : ''})`,
  );
}

interface Throughput {
  api: string;
  records: number;
  ms: number;
  failed: number;
  firstError?: unknown;
}

/** Produces `count` records as fast as the producer takes them; resolves after the last ack. */
async function produceRun(
  opts: ProducerOptions,
  topic: string,
  value: Buffer,
  count: number,
  api: 'sendBatch' | 'send',
  maxMs: number,
): Promise<Throughput> {
  const producer = new Producer(opts);
  let failed = 0;
  let firstError: unknown;
  let issued = 0;
  const t0 = performance.now();
  const deadline = t0 + maxMs;
  try {
    const chunk = Array.from({ length: CHUNK }, () => ({ topic, value }));
    while (issued < count && firstError === undefined) {
      if ((issued & 1023) === 0 && performance.now() >= deadline) break;
      if (!producer.writable) await producer.whenWritable();
      if (api === 'send') {
        producer.send({ topic, value }).catch((err: unknown) => {
          failed += 1;
          firstError ??= err;
        });
        issued += 1;
      } else {
        const n = Math.min(CHUNK, count - issued);
        producer.sendBatch(n === CHUNK ? chunk : chunk.slice(0, n)).catch((err: unknown) => {
          failed += n;
          firstError ??= err;
        });
        issued += n;
      }
    }
    await within(producer.flush(), maxMs + 30_000, 'flush');
  } finally {
    await closeQuietly(producer, 'producer');
  }
  const ms = performance.now() - t0;
  return { api, records: issued, ms, failed, firstError };
}

interface Round {
  round: number;
  killed: number;
  ms?: number;
  inFlightMs?: number;
  errors: number;
  firstError?: unknown;
  newLeader?: number;
  newEpoch?: number;
  /** When metadata (asked of the survivors) first showed another leader for p0. */
  leaderSeenMs?: number;
  isrAfter?: string;
  restartMs?: number;
  isrMs?: number;
  note?: string;
}

/**
 * One record at a time to partition 0, each awaited, until stopped; `next(after)` resolves with
 * the end time of the first successful send that started at or after `after`.
 */
class SerialSender {
  private stopped = false;
  private readonly loop: Promise<void>;
  private waiters: { after: number; resolve: (end: number) => void }[] = [];
  successes = 0;
  errors = 0;
  firstError: unknown;
  /** The end time of the first success of a send in flight at `markAt`, if marked. */
  private mark: { at: number; end?: number } | undefined;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly value: Buffer,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const start = performance.now();
      try {
        await this.producer.send({ topic: this.topic, partition: 0, value: this.value });
        const end = performance.now();
        this.successes += 1;
        if (this.mark && this.mark.end === undefined && start < this.mark.at && end >= this.mark.at)
          this.mark.end = end;
        this.waiters = this.waiters.filter((w) => {
          if (start < w.after) return true;
          w.resolve(end);
          return false;
        });
      } catch (err) {
        this.errors += 1;
        this.firstError ??= err;
        // A send that fails at once must not starve timers and sockets.
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  markAt(at: number): void {
    this.mark = { at };
  }

  get markedEnd(): number | undefined {
    return this.mark?.end;
  }

  next(after: number): Promise<number> {
    return new Promise((resolve) => this.waiters.push({ after, resolve }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await within(this.loop, 10_000, 'serial sender stop').catch(() => undefined);
  }

  close(): Promise<void> {
    return this.stop();
  }
}

export default async function replicationBench(): Promise<void> {
  const records = Math.floor(envNumber('STRAND_BENCH_REPL_RECORDS', 300_000));
  const latencySeconds = envNumber('STRAND_BENCH_REPL_LATENCY_SECONDS', 3);
  const tickMs = envNumber('STRAND_BENCH_REPL_TICK_MS', 1);
  const maxMs = envNumber('STRAND_BENCH_REPL_MAX_SECONDS', 30) * 1000;
  const rounds = Math.floor(envNumber('STRAND_BENCH_REPL_ROUNDS', 3));
  const lowRate = Math.floor(envNumber('STRAND_BENCH_REPL_LOW_RATE', 1000));
  const trace = process.env.STRAND_BENCH_REPL_TRACE === '1';
  const lingerEnv = process.env.STRAND_BENCH_LINGER_MS;
  const lingerMs = lingerEnv ? Number(lingerEnv) : undefined;

  const coordinatorMain = resolveMain('@strand/coordinator/main');
  const brokerMain = resolveMain('@strand/broker/main');
  if (!coordinatorMain || !brokerMain) {
    console.log('skipped: @strand/coordinator or @strand/broker is not built (dist/main.js)');
    return;
  }

  const run = Date.now().toString(36);
  const value = benchValue(RECORD_BYTES);
  const dir = scratchDir('strand-bench-repl-');
  const cluster = new Cluster(coordinatorMain, brokerMain, dir.path, trace);
  /** Each latency run's span in wall-clock ms, for the trace. */
  const windows: { label: string; from: number; to: number }[] = [];
  const clients: { name: string; c: { close(): Promise<void> | void } }[] = [];
  const notes: string[] = [];
  let failures = 0;
  const runs: Throughput[] = [];
  const latency: {
    label: string;
    rate: number;
    achieved: number;
    p50: number;
    p99: number;
    count: number;
    errors: number;
  }[] = [];
  const roundsOut: Round[] = [];
  let traced: TraceLine[] = [];

  console.log(
    `1 coordinator + 3 brokers on loopback (session timeout 2000 ms, heartbeat 200 ms, replica lag max 5000 ms); topic of ${PARTITIONS} partitions, replication factor ${REPLICATION}, min.insync.replicas 2; Producer acks=all (idempotent, lingerMs ${lingerMs ?? 'default'}, SDK defaults otherwise); ${records.toLocaleString('en-US')} x 1 KiB records`,
  );
  try {
    await cluster.start([1, 2, 3]);
    const bootstrap = cluster.bootstrap;
    const admin = new Admin({ bootstrap });
    clients.push({ name: 'admin', c: admin });
    const popts: ProducerOptions = { bootstrap, acks: 'all', clientId: 'strand-bench-repl' };
    if (lingerMs !== undefined) popts.lingerMs = lingerMs;

    const createTopic = async (name: string) => {
      await admin.createTopic({
        name,
        partitions: PARTITIONS,
        replicationFactor: REPLICATION,
        configs: { 'min.insync.replicas': '2' },
      });
      const waited = await waitFullIsr(admin, name, 30_000);
      return waited;
    };

    // ---- throughput ----
    try {
      const warm = `repl-warm-${run}`;
      const topic = `repl-${run}`;
      const sendTopic = `repl-send-${run}`;
      const w1 = await createTopic(warm);
      await createTopic(topic);
      await createTopic(sendTopic);
      console.log(`  topics created, full ISR after ${w1.toFixed(0)} ms (first topic)`);
      await produceRun(popts, warm, value, Math.min(50_000, records), 'sendBatch', maxMs);

      for (const [api, t] of [
        ['sendBatch', topic],
        ['send', sendTopic],
      ] as const) {
        try {
          const cpu0 = cluster.cpuMs();
          const r = await produceRun(popts, t, value, records, api, maxMs);
          const cpu1 = cluster.cpuMs();
          runs.push(r);
          const rate = (r.records / r.ms) * 1000;
          const mb = (r.records * RECORD_BYTES) / MB;
          const perMb = (k: keyof typeof cpu0) => ((cpu1[k] - cpu0[k]) / mb).toFixed(1);
          console.log(
            `  ${api}(): ${r.records.toLocaleString('en-US')} records in ${r.ms.toFixed(0)} ms = ${fmtRate(rate)} rec/s, ${(mb / (r.ms / 1000)).toFixed(1)} MB/s${r.failed > 0 ? `, ${r.failed} failed (${errorText(r.firstError)})` : ''}; CPU ms per MB: brokers ${perMb('brokers')}, coordinator ${perMb('coordinator')}, client ${perMb('client')}`,
          );
          if (r.failed > 0) {
            failures += 1;
            notes.push(`${api}(): ${r.failed} records failed: ${errorText(r.firstError)}`);
          }
          if (r.records < records)
            notes.push(`${api}(): stopped at ${r.records} records after ${maxMs / 1000} s`);
        } catch (err) {
          failures += 1;
          notes.push(`${api}() throughput failed: ${errorText(err)}`);
          console.log(`  ${api}(): failed: ${errorText(err)}`);
        }
      }
    } catch (err) {
      failures += 1;
      notes.push(`throughput setup failed: ${errorText(err)}`);
      console.log(`  throughput: failed: ${errorText(err)}`);
    }

    // ---- latency at half of the send() peak ----
    const sendRun = runs.find((r) => r.api === 'send' && r.failed === 0);
    if (sendRun) {
      const latTopic = `repl-lat-${run}`;
      try {
        await createTopic(latTopic);
        const producer = new Producer(popts);
        clients.push({ name: 'latency producer', c: producer });
        // Warm the producer's metadata and connections.
        await producer.send({ topic: latTopic, value });
        const half = Math.max(1, Math.floor(((sendRun.records / sendRun.ms) * 1000) / 2));
        const cases = [
          { label: `send() at half peak (${fmtRate(half)} rec/s)`, rate: half },
          { label: `send() at ${fmtRate(lowRate)} rec/s (reference)`, rate: lowRate },
        ];
        for (const c of cases) {
          const from = performance.timeOrigin + performance.now();
          const lat = await pacedLatency(() => producer.send({ topic: latTopic, value }), {
            ratePerSec: c.rate,
            seconds: latencySeconds,
            tickMs,
          });
          windows.push({ label: c.label, from, to: performance.timeOrigin + performance.now() });
          const row = {
            label: c.label,
            rate: c.rate,
            achieved: lat.achievedRate,
            p50: percentile(lat.latencies, 50),
            p99: percentile(lat.latencies, 99),
            count: lat.latencies.length,
            errors: lat.errors,
          };
          latency.push(row);
          console.log(
            `  send() at ${fmtRate(c.rate)} rec/s (achieved ${fmtRate(lat.achievedRate)}) for ${latencySeconds} s: p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms, ${lat.errors} errors`,
          );
          if (lat.errors > 0) {
            failures += 1;
            notes.push(
              `latency run at ${c.rate}: ${lat.errors} failed (${errorText(lat.firstError)})`,
            );
          }
          if (lat.achievedRate < c.rate * 0.95)
            notes.push(
              `latency run reached ${fmtRate(lat.achievedRate)} of ${fmtRate(c.rate)} rec/s`,
            );
        }
      } catch (err) {
        failures += 1;
        notes.push(`latency run failed: ${errorText(err)}`);
        console.log(`  latency: failed: ${errorText(err)}`);
      }
    } else {
      notes.push('latency run skipped: no successful send() throughput run to pace from');
    }

    // ---- failover ----
    const foTopic = `repl-failover-${run}`;
    try {
      await createTopic(foTopic);
      const producer = new Producer({
        ...popts,
        clientId: 'strand-bench-repl-failover',
        requestTimeoutMs: 1000,
        retryBackoffMs: 20,
      });
      clients.push({ name: 'failover producer', c: producer });
      const sender = new SerialSender(producer, foTopic, value);
      clients.push({ name: 'failover sender', c: sender });
      await within(sender.next(performance.now()), 15_000, 'first failover send');

      for (let i = 1; i <= rounds; i++) {
        const before = await within(admin.describeTopic(foTopic), 5_000, 'describeTopic');
        const p0 = before.partitions.find((p) => p.partition === 0);
        if (!p0 || p0.leader < 0)
          throw new Error(`partition 0 has no leader: ${describeIsr(before)}`);
        const killed = p0.leader;
        const round: Round = { round: i, killed, errors: 0 };
        roundsOut.push(round);
        // The loop is running and acknowledged: make sure of a few recent successes.
        await within(sender.next(performance.now()), 5_000, 'send before the kill');
        const errorsBefore = sender.errors;
        sender.firstError = undefined;

        const watcher = new Admin({
          bootstrap: cluster.bootstrap.filter((a) => a !== cluster.brokers.get(killed)?.address),
          clientId: 'strand-bench-repl-watch',
          requestTimeoutMs: 500,
          retries: 0,
        });
        let watching = true;
        const killAt = performance.now();
        const watch = (async () => {
          while (watching && performance.now() - killAt < 30_000) {
            try {
              const d = await describeQuick(watcher, foTopic);
              const q = d.partitions.find((p) => p.partition === 0);
              if (q && q.leader >= 0 && q.leader !== killed) {
                round.leaderSeenMs = performance.now() - killAt;
                round.isrAfter = `[${q.isr}]`;
                return;
              }
            } catch {
              // the survivors answer again soon
            }
            await sleep(10);
          }
        })();
        sender.markAt(killAt);
        const next = sender.next(killAt);
        await cluster.kill9(killed);
        try {
          const end = await within(next, 30_000, 'first successful send after the kill');
          round.ms = end - killAt;
        } catch (err) {
          round.note = errorText(err);
          failures += 1;
        }
        watching = false;
        await watch;
        await closeQuietly(watcher, 'watcher');
        const inFlightEnd = sender.markedEnd;
        if (inFlightEnd !== undefined) round.inFlightMs = inFlightEnd - killAt;
        round.errors = sender.errors - errorsBefore;
        round.firstError = sender.firstError;
        try {
          const after = await within(admin.describeTopic(foTopic), 5_000, 'describeTopic');
          const q0 = after.partitions.find((p) => p.partition === 0);
          round.newLeader = q0?.leader;
          round.newEpoch = q0?.leaderEpoch;
        } catch {
          // reported as '-'
        }
        console.log(
          `  round ${i}: killed broker ${killed} (leader of p0, epoch ${p0.leaderEpoch}); next successful send after ${fmtNum(round.ms, 0)} ms${round.inFlightMs !== undefined ? ` (the send in flight at the kill: ${round.inFlightMs.toFixed(0)} ms)` : ''}; metadata showed a new leader after ${fmtNum(round.leaderSeenMs, 0)} ms (isr ${round.isrAfter ?? '-'}); new leader ${round.newLeader ?? '-'} epoch ${round.newEpoch ?? '-'}; ${round.errors} failed sends meanwhile${round.firstError ? ` (${errorText(round.firstError)})` : ''}${round.note ? `; ${round.note}` : ''}`,
        );

        const r0 = performance.now();
        await cluster.restart(killed);
        round.restartMs = performance.now() - r0;
        round.isrMs = await waitFullIsr(admin, foTopic, 60_000);
        // The other topics hold the big logs: they must be whole again too before the next kill.
        for (const t of (await admin.listTopics()).map((d) => d.name))
          if (t !== foTopic) await waitFullIsr(admin, t, 60_000);
        const isrAll = performance.now() - r0;
        console.log(
          `    broker ${killed} restarted: ready after ${round.restartMs.toFixed(0)} ms, full ISR of the failover topic after ${(round.restartMs + round.isrMs).toFixed(0)} ms, of every topic after ${isrAll.toFixed(0)} ms`,
        );
      }
      await sender.stop();
    } catch (err) {
      failures += 1;
      notes.push(`failover failed: ${errorText(err)}`);
      console.log(`  failover: failed: ${errorText(err)}`);
    }
  } catch (err) {
    failures += 1;
    notes.push(`cluster failed: ${errorText(err)}`);
    console.log(`cluster: failed: ${errorText(err)}`);
  } finally {
    for (const { name, c } of clients.reverse()) await closeQuietly(c, name);
    await cluster.stop();
    traced = cluster.traceLines();
    dir.cleanup();
  }

  // ---- report ----
  console.log('');
  const rows: string[][] = runs.map((r) => {
    const secs = r.ms / 1000;
    return [
      `produce ${r.api}()`,
      r.records.toLocaleString('en-US'),
      fmtRate(r.records / secs),
      fmtNum((r.records * RECORD_BYTES) / MB / secs, 1),
      fmtNum((r.records * RECORD_BYTES) / MiB / secs, 1),
      '-',
      '-',
    ];
  });
  for (const l of latency)
    rows.push([
      l.label,
      l.count.toLocaleString('en-US'),
      fmtRate(l.achieved),
      fmtNum((l.achieved * RECORD_BYTES) / MB, 1),
      fmtNum((l.achieved * RECORD_BYTES) / MiB, 1),
      fmtNum(l.p50, 2),
      fmtNum(l.p99, 2),
    ]);
  console.log(table(['run', 'records', 'rec/s', 'MB/s', 'MiB/s', 'p50 ms', 'p99 ms'], rows));

  const failoverMs = roundsOut
    .map((r) => r.ms)
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b);
  if (roundsOut.length > 0) {
    console.log('');
    console.log(
      table(
        [
          'failover',
          'killed',
          'kill -> new leader in metadata ms',
          'kill -> next ack ms',
          'in-flight ack ms',
          'failed sends',
          'new leader',
          'restart ms',
          'then full ISR ms',
        ],
        roundsOut.map((r) => [
          `round ${r.round}`,
          String(r.killed),
          fmtNum(r.leaderSeenMs, 0),
          fmtNum(r.ms, 0),
          fmtNum(r.inFlightMs, 0),
          String(r.errors),
          r.newLeader === undefined ? '-' : `${r.newLeader} (epoch ${r.newEpoch ?? '-'})`,
          fmtNum(r.restartMs, 0),
          fmtNum(r.isrMs, 0),
        ]),
      ),
    );
    console.log(
      `failover median: ${failoverMs.length > 0 ? `${percentile(failoverMs, 50).toFixed(0)} ms` : '-'} over ${failoverMs.length} round(s)`,
    );
  }
  for (const w of trace ? windows : []) {
    const stages = breakdown(traced, w.from, w.to);
    console.log('');
    console.log(
      `where a batch waits, ${w.label} (leader arrival to committed, per batch; the follower the watermark waited for):`,
    );
    console.log(
      table(
        ['stage', 'batches', 'p50 ms', 'p99 ms'],
        stages.map((s) => [
          s.stage,
          s.count.toLocaleString('en-US'),
          fmtNum(s.p50, 2),
          fmtNum(s.p99, 2),
        ]),
      ),
    );
  }
  for (const n of notes) console.log(`note: ${n}`);

  const batch = runs.find((r) => r.api === 'sendBatch');
  const mbps = batch ? (batch.records * RECORD_BYTES) / MB / (batch.ms / 1000) : undefined;
  console.log('');
  console.log(
    `goals (not asserted): >= 100 MB/s produce (sendBatch, acks=all, RF 3): measured ${fmtNum(mbps, 1)} MB/s; ` +
      `p99 <= 10 ms at half of the send() peak: measured ${fmtNum(latency[0]?.p99, 2)} ms; ` +
      `kill -9 of the leader to the next acks=all ack <= 3 s: median ${failoverMs.length > 0 ? `${(percentile(failoverMs, 50) / 1000).toFixed(2)} s` : '-'}`,
  );
  if (failures > 0) {
    console.log(`${failures} run(s) failed`);
    process.exitCode = 1;
  }
}
