import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Producer, type ProducerRecord } from '@strand/client';
import { freePort, type NodeProcess, ProcessRegistry } from '@strand/testkit';
import { benchValue, envNumber, errorText, resolveMain, scratchDir } from './util.js';

/**
 * Many partitions on one broker: 1 coordinator and 1 broker as real processes, N partitions
 * (topics of at most 1,000). For each N: the time to create them, produce rate of records of
 * 100 B spread evenly over all of them (the SDK's sendBatch, acks=all), the broker's RSS and
 * open descriptors afterwards, the time a SIGTERM takes, and the start-up time after that clean
 * stop and after a kill -9: until the broker listens, and until every partition has taken one
 * more record. The record count is checked at the end (nothing lost, nothing doubled).
 *
 * Environment: STRAND_BENCH_PARTITIONS (comma list, default 1,10,100,1000,10000),
 * STRAND_BENCH_PARTITION_RECORDS (records per case, default 200,000),
 * STRAND_BENCH_PARTITION_MAX_OPEN (the broker's --max-open-files, its default 1,024).
 */

const PER_TOPIC = 1000;
const RECORD_BYTES = 100;
const CHUNK = 1024;
const LONG = 600_000;

interface Row {
  partitions: number;
  createMs?: number;
  produceRate?: number;
  rssMiB?: number;
  fds?: number;
  stopMs?: number;
  cleanListenMs?: number;
  cleanReadyMs?: number;
  uncleanListenMs?: number;
  uncleanReadyMs?: number;
  note?: string;
}

const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** Every partition of the case, as (topic, partition). */
function layout(n: number): { topic: string; partition: number }[] {
  return Array.from({ length: n }, (_, i) => ({
    topic: `bench-p${Math.floor(i / PER_TOPIC)}`,
    partition: i % PER_TOPIC,
  }));
}

async function produceSpread(bootstrap: string[], n: number, records: number): Promise<void> {
  const parts = layout(n);
  const value = benchValue(RECORD_BYTES);
  const producer = new Producer({ bootstrap, clientId: 'strand-bench-partitions' });
  let failed: unknown;
  try {
    for (let sent = 0; sent < records && failed === undefined; ) {
      if (!producer.writable) await producer.whenWritable();
      const count = Math.min(CHUNK, records - sent);
      const chunk: ProducerRecord[] = Array.from({ length: count }, (_, k) => ({
        ...parts[(sent + k) % n]!,
        value,
      }));
      producer.sendBatch(chunk).catch((err: unknown) => {
        failed ??= err;
      });
      sent += count;
    }
    await producer.flush();
  } finally {
    await producer.close();
  }
  if (failed !== undefined) throw failed;
}

async function sumOfEnds(bootstrap: string[], n: number): Promise<number> {
  const admin = new Admin({ bootstrap });
  try {
    let sum = 0;
    for (const topic of new Set(layout(n).map((p) => p.topic)))
      for (const o of await admin.listOffsets(topic, 'latest')) sum += o.offset;
    return sum;
  } finally {
    await admin.close();
  }
}

async function runCase(n: number, records: number, maxOpen: number | undefined): Promise<Row> {
  const coordinatorMain = resolveMain('@strand/coordinator/main');
  const brokerMain = resolveMain('@strand/broker/main');
  if (!coordinatorMain || !brokerMain) throw new Error('build the workspace first (pnpm build)');
  const registry = new ProcessRegistry();
  const dir = scratchDir('strand-bench-partitions-');
  const row: Row = { partitions: n };
  try {
    const coordinator = `127.0.0.1:${await freePort()}`;
    const listen = `127.0.0.1:${await freePort()}`;
    await registry.start(coordinatorMain, {
      name: 'coordinator',
      args: ['--id', '1', '--listen', coordinator, '--data', join(dir.path, 'coordinator')],
      readyLine: /listening on/,
    });
    const startBroker = () =>
      registry.start(brokerMain, {
        name: 'broker',
        args: [
          '--id',
          '1',
          '--listen',
          listen,
          '--coordinators',
          coordinator,
          '--data',
          join(dir.path, 'broker'),
          ...(maxOpen ? ['--max-open-files', String(maxOpen)] : []),
        ],
        readyLine: /broker \d+ listening on/,
        readyTimeoutMs: LONG,
      });
    let broker: NodeProcess = await startBroker();
    const bootstrap = [listen];

    let t0 = performance.now();
    const admin = new Admin({ bootstrap });
    const topics = new Map<string, number>();
    for (const p of layout(n)) topics.set(p.topic, (topics.get(p.topic) ?? 0) + 1);
    for (const [name, partitions] of topics)
      await admin.createTopic({ name, partitions, replicationFactor: 1 });
    await admin.close();
    row.createMs = performance.now() - t0;

    t0 = performance.now();
    await produceSpread(bootstrap, n, records);
    row.produceRate = (records / (performance.now() - t0)) * 1000;
    row.rssMiB = rssMiB(broker.pid);
    row.fds = openFds(broker.pid);

    /** Starts the broker again; ms until it listens and until every partition took a record. */
    const restart = async (): Promise<[number, number]> => {
      const s = performance.now();
      broker = await startBroker();
      const listening = performance.now() - s;
      await produceSpread(bootstrap, n, n);
      return [listening, performance.now() - s];
    };
    t0 = performance.now();
    const code = await broker.terminate(LONG);
    row.stopMs = performance.now() - t0;
    if (code !== 0) row.note = `SIGTERM: exit ${code}`;
    [row.cleanListenMs, row.cleanReadyMs] = await restart();
    await broker.kill9();
    [row.uncleanListenMs, row.uncleanReadyMs] = await restart();

    const expected = records + 2 * n;
    const got = await sumOfEnds(bootstrap, n);
    if (got !== expected) row.note = `${got} records on the broker, expected ${expected}`;
  } catch (err) {
    row.note = errorText(err, 120);
  } finally {
    await registry.stopAll(LONG);
    dir.cleanup();
  }
  return row;
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined
    ? '-'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const secs = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));

export default async function partitionsBench(): Promise<void> {
  const counts = (process.env.STRAND_BENCH_PARTITIONS ?? '1,10,100,1000,10000')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((x) => Number.isInteger(x) && x > 0);
  const records = envNumber('STRAND_BENCH_PARTITION_RECORDS', 200_000);
  const maxOpen = process.env.STRAND_BENCH_PARTITION_MAX_OPEN
    ? envNumber('STRAND_BENCH_PARTITION_MAX_OPEN', 1024)
    : undefined;
  console.log(
    `${records.toLocaleString('en-US')} records of ${RECORD_BYTES} B spread over N partitions of one broker (acks=all, idempotent); broker --max-open-files ${maxOpen ?? 'default (1,024)'}`,
  );
  const rows: Row[] = [];
  for (const n of counts) {
    const row = await runCase(n, records, maxOpen);
    rows.push(row);
    console.log(
      `  ${fmt(n)} partitions: created in ${secs(row.createMs)} s, ${fmt(row.produceRate)} rec/s, RSS ${fmt(row.rssMiB)} MiB, ${fmt(row.fds)} fds, SIGTERM ${secs(row.stopMs)} s, restart ${secs(row.cleanListenMs)}/${secs(row.cleanReadyMs)} s, after kill -9 ${secs(row.uncleanListenMs)}/${secs(row.uncleanReadyMs)} s${row.note ? ` (${row.note})` : ''}`,
    );
  }
  const headers = [
    'partitions',
    'create s',
    'produce rec/s',
    'RSS MiB',
    'open fds',
    'SIGTERM s',
    'clean: listen s',
    'all writable s',
    'kill -9: listen s',
    'all writable s',
  ];
  const cells = rows.map((r) => [
    fmt(r.partitions),
    secs(r.createMs),
    fmt(r.produceRate),
    fmt(r.rssMiB),
    fmt(r.fds),
    secs(r.stopMs),
    secs(r.cleanListenMs),
    secs(r.cleanReadyMs),
    secs(r.uncleanListenMs),
    secs(r.uncleanReadyMs),
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padStart(widths[i]!)).join('  ');
  console.log('');
  console.log(line(headers));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const c of cells) console.log(line(c));
  for (const r of rows) if (r.note) console.log(`${fmt(r.partitions)} partitions: ${r.note}`);
}
