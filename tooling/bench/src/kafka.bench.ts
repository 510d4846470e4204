import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type StrandCluster, startStrandCluster, strandTarget } from './peers/strand.js';
import type { TopicTarget } from './peers/target.js';
import { benchValue, cpuMsOf, envNumber, errorText, MiB, ownCpuMs, scratchDir } from './util.js';

/**
 * The Kafka protocol against one Strand broker, next to the Strand SDK against the same broker
 * in the same run: KafkaJS 2.2.4's producer (batches of 1,000 records, several in flight) and
 * consumer (a group of one, eachBatch), 100 B and 1 KiB records; then kcat (librdkafka 2.0.2)
 * producing and consuming N lines. Then the same KafkaJS and kcat runs at 100 B against a
 * second cluster with TLS and --authentication required, over SASL_SSL (SCRAM-SHA-512), and
 * their ratio to the plaintext runs. Each phase reports records/s, MiB/s and the CPU seconds
 * the broker and the client used, which shows the side that is the bottleneck. Nothing here
 * asserts a number.
 *
 * Environment: STRAND_BENCH_KAFKA_RECORDS (100 B records, default 500,000; 1 KiB runs use a
 * quarter), STRAND_BENCH_KAFKA_LINES (kcat, 1,000,000), STRAND_BENCH_KAFKA_INFLIGHT (KafkaJS
 * sends in flight, 8), STRAND_BENCH_KAFKA_MAX_SECONDS (per phase cap, 60),
 * STRAND_BENCH_KAFKA_SASL (0: no SASL_SSL runs).
 */

const require = createRequire(import.meta.url);
const KCAT = '/usr/bin/kcat';
const KAFKAJS_BATCH = 1000;

interface Phase {
  client: string;
  size: string;
  op: 'produce' | 'consume';
  records: number;
  bytes: number;
  ms: number;
  brokerCpuMs: number;
  clientCpuMs: number;
  note?: string;
}

/** Times `work`, with the broker's CPU and this process's (or the child's, when it says). */
async function timed(
  brokerPid: number,
  work: () => Promise<{ records: number; bytes: number; clientCpuMs?: number; note?: string }>,
): Promise<Omit<Phase, 'client' | 'size' | 'op'>> {
  const [b0, c0, t0] = [cpuMsOf(brokerPid), ownCpuMs(), performance.now()];
  const r = await work();
  const ms = performance.now() - t0;
  return {
    records: r.records,
    bytes: r.bytes,
    ms,
    brokerCpuMs: cpuMsOf(brokerPid) - b0,
    clientCpuMs: r.clientCpuMs ?? ownCpuMs() - c0,
    ...(r.note ? { note: r.note } : {}),
  };
}

type KafkaJs = typeof import('kafkajs');
/** How KafkaJS connects: nothing on a plaintext listener; TLS and a SCRAM user on SASL_SSL. */
type KafkaJsSecurity = Pick<import('kafkajs').KafkaConfig, 'ssl' | 'sasl'>;

async function kafkajsProduce(
  kafkajs: KafkaJs,
  security: KafkaJsSecurity,
  brokers: string[],
  topic: string,
  value: Buffer,
  count: number,
  inflight: number,
  deadline: number,
): Promise<number> {
  const kafka = new kafkajs.Kafka({
    clientId: 'bench',
    brokers,
    logLevel: kafkajs.logLevel.NOTHING,
    ...security,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const messages = Array.from({ length: KAFKAJS_BATCH }, () => ({ value }));
    let issued = 0;
    const worker = async () => {
      while (issued < count && performance.now() < deadline) {
        const n = Math.min(KAFKAJS_BATCH, count - issued);
        issued += n;
        await producer.send({
          topic,
          acks: -1,
          messages: n === KAFKAJS_BATCH ? messages : messages.slice(0, n),
        });
      }
    };
    await Promise.all(Array.from({ length: inflight }, worker));
    return issued;
  } finally {
    await producer.disconnect();
  }
}

/** A group of one reading from the beginning; the time until its first batch is reported apart. */
async function kafkajsConsume(
  kafkajs: KafkaJs,
  security: KafkaJsSecurity,
  brokers: string[],
  topic: string,
  count: number,
  deadline: number,
): Promise<{ records: number; bytes: number; joinMs: number }> {
  const kafka = new kafkajs.Kafka({
    clientId: 'bench',
    brokers,
    logLevel: kafkajs.logLevel.NOTHING,
    ...security,
  });
  const consumer = kafka.consumer({ groupId: `bench-${topic}`, maxBytes: 50 * MiB });
  const t0 = performance.now();
  let joinMs = 0;
  let records = 0;
  let bytes = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      timer = setInterval(() => {
        if (performance.now() > deadline) resolve();
      }, 100);
      consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (joinMs === 0) joinMs = performance.now() - t0;
            for (const m of batch.messages) bytes += m.value?.length ?? 0;
            records += batch.messages.length;
            if (records >= count) resolve();
          },
        })
        .catch(reject);
    }).finally(() => clearInterval(timer));
    return { records, bytes, joinMs };
  } finally {
    await consumer.disconnect();
  }
}

/** Runs a shell pipeline, and the CPU its children used (bash's `times`). */
function shell(script: string, timeoutMs: number): Promise<{ stdout: string; childCpuMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', ['-c', `${script}; times`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${script}: exit ${code}: ${err.slice(0, 300)}`));
      // The last line of `times`: the children's user and system times, like 0m1.234s 0m0.567s.
      const lines = out.trimEnd().split('\n');
      const secs = (lines.pop() ?? '')
        .split(' ')
        .map((t) => /(\d+)m([\d.]+)s/.exec(t))
        .reduce((n, m) => n + (m ? Number(m[1]) * 60 + Number(m[2]) : 0), 0);
      lines.pop(); // the shell's own
      resolve({ stdout: lines.join('\n'), childCpuMs: secs * 1000 });
    });
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** KafkaJS's and kcat's options for a cluster's Kafka listener (SASL_SSL on a secure one). */
function kafkaClients(cluster: StrandCluster): { js: KafkaJsSecurity; kcat: string } {
  const sasl = cluster.sasl;
  if (!sasl) return { js: {}, kcat: '' };
  const { caFile, username, password } = sasl;
  return {
    js: {
      ssl: { ca: [readFileSync(caFile, 'utf8')] },
      sasl: { mechanism: 'scram-sha-512', username, password },
    },
    kcat: [
      `-X security.protocol=SASL_SSL -X ssl.ca.location=${caFile}`,
      `-X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=${username} -X sasl.password=${password}`,
    ].join(' '),
  };
}

type Record = (
  cluster: StrandCluster,
  client: string,
  size: string,
  op: Phase['op'],
  work: Parameters<typeof timed>[1],
) => Promise<void>;

interface Settings {
  kafkajs: KafkaJs;
  inflight: number;
  maxMs: number;
  run: string;
}

/** KafkaJS producing then consuming `count` records of `bytes` on a topic of its own. */
async function kafkajsPhases(
  record: Record,
  cluster: StrandCluster,
  sdk: TopicTarget,
  client: string,
  size: { label: string; bytes: number; count: number },
  s: Settings,
): Promise<void> {
  const { js } = kafkaClients(cluster);
  const value = benchValue(size.bytes);
  const topic = `kafka-js-${size.bytes}-${client.length}-${s.run}`;
  await sdk.createTopic(topic);
  const { kafkajs, inflight, maxMs } = s;
  await record(cluster, client, size.label, 'produce', async () => {
    const deadline = performance.now() + maxMs;
    const n = await kafkajsProduce(
      kafkajs,
      js,
      cluster.bootstrap,
      topic,
      value,
      size.count,
      inflight,
      deadline,
    );
    return { records: n, bytes: n * size.bytes };
  });
  await record(cluster, client, size.label, 'consume', async () => {
    const deadline = performance.now() + maxMs;
    const r = await kafkajsConsume(kafkajs, js, cluster.bootstrap, topic, size.count, deadline);
    return { ...r, note: `first batch after ${fmt(r.joinMs)} ms (group join)` };
  });
}

/** kcat producing then consuming the lines of `file` (of 99 B each) on a topic of its own. */
async function kcatPhases(
  record: Record,
  cluster: StrandCluster,
  sdk: TopicTarget,
  client: string,
  file: string,
  lines: number,
  s: Settings,
): Promise<void> {
  const topic = `kafka-kcat-${client.length}-${s.run}`;
  await sdk.createTopic(topic);
  const b = cluster.bootstrap[0]!;
  const flags = kafkaClients(cluster).kcat;
  await record(cluster, client, '100 B lines', 'produce', async () => {
    const r = await shell(`${KCAT} -P -b ${b} ${flags} -t ${topic} -p 0 < ${file}`, s.maxMs * 2);
    return { records: lines, bytes: lines * 99, clientCpuMs: r.childCpuMs };
  });
  await record(cluster, client, '100 B lines', 'consume', async () => {
    const r = await shell(
      `${KCAT} -C -b ${b} ${flags} -t ${topic} -p 0 -o beginning -e -q -f '%s\\n' | wc -l`,
      s.maxMs * 2,
    );
    const got = Number(r.stdout.trim());
    return {
      records: got,
      bytes: got * 99,
      clientCpuMs: r.childCpuMs,
      ...(got !== lines ? { note: `read ${got} of ${lines}` } : {}),
    };
  });
}

export default async function kafkaBench(): Promise<void> {
  const records100 = envNumber('STRAND_BENCH_KAFKA_RECORDS', 500_000);
  const lines = envNumber('STRAND_BENCH_KAFKA_LINES', 1_000_000);
  const s: Settings = {
    kafkajs: require('kafkajs') as KafkaJs,
    inflight: envNumber('STRAND_BENCH_KAFKA_INFLIGHT', 8),
    maxMs: envNumber('STRAND_BENCH_KAFKA_MAX_SECONDS', 60) * 1000,
    run: Date.now().toString(36),
  };
  const withSasl = process.env.STRAND_BENCH_KAFKA_SASL !== '0';
  const dir = scratchDir('strand-bench-kafka-');
  const phases: Phase[] = [];
  let failures = 0;
  const record: Record = async (cluster, client, size, op, work) => {
    try {
      const p = { client, size, op, ...(await timed(cluster.brokerPid, work)) };
      phases.push(p);
      console.log(
        `  ${client} ${size} ${op}: ${fmt(p.records)} in ${fmt(p.ms)} ms = ${fmt((p.records / p.ms) * 1000)} rec/s, ${((p.bytes / MiB / p.ms) * 1000).toFixed(1)} MiB/s; CPU broker ${(p.brokerCpuMs / 1000).toFixed(1)} s, client ${(p.clientCpuMs / 1000).toFixed(1)} s${p.note ? ` (${p.note})` : ''}`,
      );
    } catch (err) {
      failures += 1;
      console.log(`  ${client} ${size} ${op}: failed: ${errorText(err, 200)}`);
    }
  };
  const sizes = [
    { label: '100 B', bytes: 100, count: records100 },
    { label: '1 KiB', bytes: 1024, count: Math.floor(records100 / 4) },
  ];
  const kcat = existsSync(KCAT);
  const file = join(dir.path, 'lines.txt');
  if (kcat) writeFileSync(file, `${`${benchValue(99).toString('latin1')}\n`.repeat(lines)}`);
  else console.log(`kcat: skipped (${KCAT} is missing)`);
  try {
    const cluster = await startStrandCluster();
    const sdk = strandTarget(cluster);
    console.log(
      `1 coordinator + 1 broker, 1 partition, acks -1 everywhere; SDK: ${sdk.describe}; KafkaJS 2.2.4: send() of ${KAFKAJS_BATCH} records, ${s.inflight} in flight, consumer group of one (eachBatch); kcat: defaults`,
    );
    try {
      for (const size of sizes) {
        const value = benchValue(size.bytes);
        // Warm both paths first, on a topic of their own.
        const warm = `kafka-warm-${size.bytes}-${s.run}`;
        await sdk.createTopic(warm);
        await sdk.produce(warm, value, Math.min(50_000, size.count / 10), Infinity);
        const { kafkajs, inflight } = s;
        await kafkajsProduce(
          kafkajs,
          {},
          cluster.bootstrap,
          warm,
          value,
          20_000,
          inflight,
          Infinity,
        );

        const sdkTopic = `kafka-sdk-${size.bytes}-${s.run}`;
        await sdk.createTopic(sdkTopic);
        await record(cluster, 'Strand SDK', size.label, 'produce', async () => {
          const n = await sdk.produce(sdkTopic, value, size.count, performance.now() + s.maxMs);
          return { records: n, bytes: n * size.bytes };
        });
        await record(cluster, 'Strand SDK', size.label, 'consume', () =>
          sdk.consume(sdkTopic, size.count, performance.now() + s.maxMs),
        );
        await kafkajsPhases(record, cluster, sdk, 'KafkaJS', size, s);
      }
      if (kcat) await kcatPhases(record, cluster, sdk, 'kcat', file, lines, s);
    } finally {
      await sdk.close();
    }
    // The same Kafka clients over SASL_SSL: TLS and a SCRAM-SHA-512 exchange per connection.
    if (withSasl) {
      const secure = await startStrandCluster([], { secure: true });
      const secureSdk = strandTarget(secure);
      try {
        console.log(
          'a second cluster: TLS everywhere, --authentication required (Kafka: SASL_SSL, SCRAM-SHA-512)',
        );
        const warm = `kafka-warm-secure-${s.run}`;
        await secureSdk.createTopic(warm);
        const { js } = kafkaClients(secure);
        const { kafkajs, inflight } = s;
        await kafkajsProduce(
          kafkajs,
          js,
          secure.bootstrap,
          warm,
          benchValue(100),
          20_000,
          inflight,
          Infinity,
        );
        await kafkajsPhases(record, secure, secureSdk, 'KafkaJS SASL_SSL', sizes[0]!, s);
        if (kcat) await kcatPhases(record, secure, secureSdk, 'kcat SASL_SSL', file, lines, s);
      } finally {
        await secureSdk.close(); // and the cluster
      }
    }
  } finally {
    dir.cleanup();
  }

  const find = (client: string, size: string, op: string) =>
    phases.find((p) => p.client === client && p.size === size && p.op === op);
  const rate = (p: Phase | undefined) => (p ? (p.records / p.ms) * 1000 : undefined);
  console.log('');
  console.log('client            size         op       rec/s       MiB/s   broker CPU  client CPU');
  for (const p of phases)
    console.log(
      `${p.client.padEnd(17)} ${p.size.padEnd(12)} ${p.op.padEnd(8)} ${fmt(rate(p)!).padStart(10)} ${((p.bytes / MiB / p.ms) * 1000).toFixed(1).padStart(8)} ${`${((p.brokerCpuMs / p.ms) * 100).toFixed(0)}%`.padStart(11)} ${`${((p.clientCpuMs / p.ms) * 100).toFixed(0)}%`.padStart(11)}`,
    );
  console.log('');
  const ratio = (label: string, a: [string, string], b: [string, string], op: string) => {
    const x = rate(find(a[0], a[1], op));
    const y = rate(find(b[0], b[1], op));
    if (x !== undefined && y !== undefined) console.log(`${label}, ${op}: ${(x / y).toFixed(2)}x`);
  };
  for (const op of ['produce', 'consume']) {
    for (const size of ['100 B', '1 KiB'])
      ratio(`KafkaJS / Strand SDK, ${size}`, ['KafkaJS', size], ['Strand SDK', size], op);
    ratio('kcat / Strand SDK (100 B)', ['kcat', '100 B lines'], ['Strand SDK', '100 B'], op);
    ratio(
      'KafkaJS SASL_SSL / plaintext (100 B)',
      ['KafkaJS SASL_SSL', '100 B'],
      ['KafkaJS', '100 B'],
      op,
    );
    ratio(
      'kcat SASL_SSL / plaintext',
      ['kcat SASL_SSL', '100 B lines'],
      ['kcat', '100 B lines'],
      op,
    );
  }
  console.log('(CPU: share of one core over the phase; a client near 100% is the bottleneck)');
  if (failures > 0) {
    console.log(`${failures} phase(s) failed`);
    process.exitCode = 1;
  }
}
