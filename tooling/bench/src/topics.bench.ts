import type { TopicTarget } from './peers/target.js';
import { Skipped } from './peers/target.js';
import { pacedLatency, percentile } from './rate.js';
import { benchValue, envNumber, errorText, MiB, ratio, table } from './util.js';

/**
 * End to end on one node: produce then consume N records of 100 B and of 1 KiB, then the
 * produce latency at half of the measured peak rate; the same workload against Redis Streams
 * and NATS JetStream through their usual Node clients, each server started here and stopped by
 * pid. Each system runs alone (one server up at a time). Nothing here asserts a number.
 *
 * Environment: STRAND_BENCH_TOPIC_RECORDS (records of 100 B, default 2,000,000; 1 KiB runs use a
 * quarter), STRAND_BENCH_TOPIC_RECORDS_1K, STRAND_BENCH_TOPIC_LATENCY_SECONDS (3),
 * STRAND_BENCH_TOPIC_TICK_MS (1), STRAND_BENCH_TOPIC_MAX_SECONDS (per phase cap, 30),
 * STRAND_BENCH_TOPIC_SYSTEMS (comma list among strand,strand-send,strand-secure,
 * strand-secure-super (the same secure cluster, its user a super user: no ACL looked at),redis,nats;
 * default all),
 * STRAND_BENCH_TOPIC_PARTITIONS (Strand, 1).
 */

interface SizeCase {
  label: string;
  bytes: number;
  records: number;
}

interface Row {
  system: string;
  size: string;
  status: 'ok' | 'skipped' | 'failed';
  note?: string;
  produceRate?: number;
  produceMiB?: number;
  consumeRate?: number;
  consumeMiB?: number;
  latRate?: number;
  latAchieved?: number;
  p50?: number;
  p99?: number;
  latErrors?: number;
}

const SYSTEMS: { key: string; start: () => Promise<TopicTarget> }[] = [
  { key: 'strand', start: async () => (await import('./peers/strand.js')).startStrand() },
  {
    key: 'strand-send',
    start: async () => (await import('./peers/strand.js')).startStrand('send'),
  },
  {
    key: 'strand-secure',
    start: async () => (await import('./peers/strand.js')).startStrand('sendBatch', 'acls'),
  },
  {
    key: 'strand-secure-super',
    start: async () => (await import('./peers/strand.js')).startStrand('sendBatch', 'super-user'),
  },
  { key: 'redis', start: async () => (await import('./peers/redis.js')).startRedis() },
  { key: 'nats', start: async () => (await import('./peers/nats.js')).startNats() },
];

/** Notes in the summary table stay short. */
const errorNote = (err: unknown) => errorText(err, 160);

async function runCase(
  target: TopicTarget,
  c: SizeCase,
  run: string,
  opts: { maxMs: number; latencySeconds: number; tickMs: number },
): Promise<Row> {
  const row: Row = { system: target.name, size: c.label, status: 'ok' };
  const value = benchValue(c.bytes);

  // Warm the client and server code paths on a topic of their own.
  const warm = `bench-warm-${c.bytes}-${run}`;
  await target.createTopic(warm);
  await target.produce(warm, value, Math.min(50_000, Math.ceil(c.records / 10)), Infinity);

  const topic = `bench-${c.bytes}-${run}`;
  await target.createTopic(topic);
  let t0 = performance.now();
  const produced = await target.produce(topic, value, c.records, t0 + opts.maxMs);
  let ms = performance.now() - t0;
  row.produceRate = (produced / ms) * 1000;
  row.produceMiB = ((produced * c.bytes) / MiB / ms) * 1000;
  const notes: string[] = [];
  if (produced < c.records)
    notes.push(`produce stopped at ${produced} after ${opts.maxMs / 1000} s`);
  console.log(
    `  ${target.name} ${c.label}: produced ${produced} in ${ms.toFixed(0)} ms = ${fmtRate(row.produceRate)} rec/s, ${row.produceMiB.toFixed(1)} MiB/s`,
  );

  t0 = performance.now();
  const got = await target.consume(topic, produced, t0 + opts.maxMs);
  ms = performance.now() - t0;
  row.consumeRate = (got.records / ms) * 1000;
  row.consumeMiB = (got.bytes / MiB / ms) * 1000;
  if (got.records < produced) notes.push(`consumed only ${got.records} of ${produced}`);
  if (got.bytes !== got.records * c.bytes)
    notes.push(`consumed ${got.bytes} value bytes, expected ${got.records * c.bytes}`);
  console.log(
    `  ${target.name} ${c.label}: consumed ${got.records} in ${ms.toFixed(0)} ms = ${fmtRate(row.consumeRate)} rec/s, ${row.consumeMiB.toFixed(1)} MiB/s`,
  );

  if (!target.sender) {
    if (notes.length > 0) row.note = notes.join('; ');
    return row;
  }
  const latTopic = `bench-lat-${c.bytes}-${run}`;
  await target.createTopic(latTopic);
  const sender = await target.sender(latTopic, value);
  try {
    const rate = Math.max(1, Math.floor(row.produceRate / 2));
    const lat = await pacedLatency(sender.send, {
      ratePerSec: rate,
      seconds: opts.latencySeconds,
      tickMs: opts.tickMs,
    });
    row.latRate = rate;
    row.latAchieved = lat.achievedRate;
    row.p50 = percentile(lat.latencies, 50);
    row.p99 = percentile(lat.latencies, 99);
    row.latErrors = lat.errors;
    if (lat.errors > 0)
      notes.push(`latency run: ${lat.errors} failed (${errorNote(lat.firstError)})`);
    if (lat.achievedRate < rate * 0.95)
      notes.push(`latency run reached ${fmtRate(lat.achievedRate)} of ${fmtRate(rate)} rec/s`);
    console.log(
      `  ${target.name} ${c.label}: at ${fmtRate(rate)} rec/s (achieved ${fmtRate(lat.achievedRate)}) for ${opts.latencySeconds} s: p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms`,
    );
  } finally {
    await sender.close();
  }
  if (notes.length > 0) row.note = notes.join('; ');
  return row;
}

function fmtRate(n: number | undefined): string {
  if (n === undefined) return '-';
  return Math.round(n).toLocaleString('en-US');
}

function fmtNum(n: number | undefined, digits: number): string {
  return n === undefined ? '-' : n.toFixed(digits);
}

export default async function topicsBench(): Promise<void> {
  const records100 = envNumber('STRAND_BENCH_TOPIC_RECORDS', 2_000_000);
  const records1k = envNumber(
    'STRAND_BENCH_TOPIC_RECORDS_1K',
    Math.max(1, Math.floor(records100 / 4)),
  );
  const latencySeconds = envNumber('STRAND_BENCH_TOPIC_LATENCY_SECONDS', 3);
  const tickMs = envNumber('STRAND_BENCH_TOPIC_TICK_MS', 1);
  const maxMs = envNumber('STRAND_BENCH_TOPIC_MAX_SECONDS', 30) * 1000;
  const wanted = (
    process.env.STRAND_BENCH_TOPIC_SYSTEMS ??
    'strand,strand-send,strand-secure,strand-secure-super,redis,nats'
  )
    .split(',')
    .map((s) => s.trim().toLowerCase());
  const cases: SizeCase[] = [
    { label: '100 B', bytes: 100, records: Math.floor(records100) },
    { label: '1 KiB', bytes: 1024, records: Math.floor(records1k) },
  ];
  const run = Date.now().toString(36);
  console.log(
    `records: ${cases.map((c) => `${c.records.toLocaleString('en-US')} x ${c.label}`).join(', ')}; latency at half of each system's peak for ${latencySeconds} s, ${tickMs} ms ticks, measured from send() to ack`,
  );

  const rows: Row[] = [];
  let failures = 0;
  for (const system of SYSTEMS) {
    if (!wanted.includes(system.key)) continue;
    let target: TopicTarget | undefined;
    try {
      target = await system.start();
    } catch (err) {
      const skipped = err instanceof Skipped;
      if (!skipped) failures += 1;
      console.log(`${system.key}: ${skipped ? 'skipped' : 'failed to start'}: ${errorNote(err)}`);
      for (const c of cases)
        rows.push({
          system: system.key,
          size: c.label,
          status: skipped ? 'skipped' : 'failed',
          note: errorNote(err),
        });
      continue;
    }
    console.log(`${target.name}: ${target.describe}`);
    try {
      for (const c of cases) {
        try {
          rows.push(await runCase(target, c, run, { maxMs, latencySeconds, tickMs }));
        } catch (err) {
          failures += 1;
          console.log(`  ${target.name} ${c.label}: failed: ${errorNote(err)}`);
          rows.push({ system: target.name, size: c.label, status: 'failed', note: errorNote(err) });
        }
      }
    } finally {
      await target.close();
    }
  }

  console.log('');
  console.log(
    table(
      [
        'system',
        'size',
        'produce rec/s',
        'MiB/s',
        'consume rec/s',
        'MiB/s',
        'lat rate',
        'p50 ms',
        'p99 ms',
      ],
      rows.map((r) =>
        r.status !== 'ok'
          ? [r.system, r.size, r.status, '', '', '', '', '', '']
          : [
              r.system,
              r.size,
              fmtRate(r.produceRate),
              fmtNum(r.produceMiB, 1),
              fmtRate(r.consumeRate),
              fmtNum(r.consumeMiB, 1),
              fmtRate(r.latRate),
              fmtNum(r.p50, 2),
              fmtNum(r.p99, 2),
            ],
      ),
      2,
    ),
  );
  for (const r of rows) if (r.note) console.log(`note: ${r.system} ${r.size}: ${r.note}`);

  const find = (system: string, size: string) =>
    rows.find((r) => r.system === system && r.size === size && r.status === 'ok');
  const ratioRows: string[][] = [];
  for (const peer of ['Redis Streams', 'NATS JetStream']) {
    for (const c of cases) {
      const s = find('Strand', c.label);
      const p = find(peer, c.label);
      if (!s || !p) continue;
      // Latency is timed per record: the send() row's.
      const l = find('Strand send()', c.label) ?? s;
      ratioRows.push([
        `Strand / ${peer}`,
        c.label,
        ratio(s.produceRate, p.produceRate),
        ratio(s.consumeRate, p.consumeRate),
        ratio(p.p50, l.p50),
        ratio(p.p99, l.p99),
      ]);
    }
  }
  /** `over` against `base` (latency the other way round, as the peers' rows: > 1 is faster). */
  const versus = (label: string, over: string, base: string, latency: boolean) => {
    for (const c of cases) {
      const o = find(over, c.label);
      const b = find(base, c.label);
      if (!o || !b) continue;
      ratioRows.push([
        label,
        c.label,
        ratio(o.produceRate, b.produceRate),
        ratio(o.consumeRate, b.consumeRate),
        latency ? ratio(b.p50, o.p50) : '',
        latency ? ratio(b.p99, o.p99) : '',
      ]);
    }
  };
  // What security costs: the same SDK workload over TLS with a SCRAM user.
  versus('Strand TLS+SCRAM / Strand', 'Strand TLS+SCRAM', 'Strand', false);
  // What authorization costs: the same secure cluster, its user checked against ACLs or not.
  versus('ACLs / super user (TLS+SCRAM)', 'Strand TLS+SCRAM', 'Strand TLS+SCRAM super user', true);
  if (ratioRows.length > 0) {
    console.log('');
    console.log(
      table(
        ['ratio', 'size', 'produce', 'consume', 'p50 (peer/Strand)', 'p99 (peer/Strand)'],
        ratioRows,
        2,
      ),
    );
  }
  const s100 = find('Strand', '100 B');
  const r100 = find('Redis Streams', '100 B');
  if (s100) {
    console.log('');
    console.log(
      `goal (not asserted): >= 1,000,000 rec/s produce at 100 B on one broker: measured ${fmtRate(s100.produceRate)}` +
        (r100
          ? `; >= 8x Redis Streams: measured ${ratio(s100.produceRate, r100.produceRate)}`
          : ''),
    );
  }
  if (failures > 0) {
    console.log(`${failures} run(s) failed`);
    process.exitCode = 1;
  }
}
