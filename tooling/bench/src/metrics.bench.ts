import { BrokerMetrics, KafkaMetrics } from '@strand/broker';
import { Metrics } from '@strand/ops';
import { benchBatch, envNumber } from './util.js';

/**
 * What the broker's metrics cost, in process: the work a produce request, a fetch answer and a
 * Kafka request do on the registry (the same calls the data plane and the Kafka listener make),
 * against the same loop with no metrics, and the time a scrape takes with many topics. Medians
 * of STRAND_BENCH_METRICS_ROUNDS rounds (default 7) of STRAND_BENCH_METRICS_OPS calls each.
 */

const OPS = envNumber('STRAND_BENCH_METRICS_OPS', 200_000);
const ROUNDS = envNumber('STRAND_BENCH_METRICS_ROUNDS', 7);
const TOPICS = 100;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;

/** Nanoseconds per call of `op`, per round. */
function time(op: (i: number) => void): number[] {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) op(i);
    rounds.push(Number(process.hrtime.bigint() - t0) / OPS);
  }
  return rounds;
}

export default async function metricsBench(): Promise<void> {
  const metrics = new Metrics();
  const broker = new BrokerMetrics(metrics);
  const kafka = new KafkaMetrics(metrics);
  const topics = Array.from({ length: TOPICS }, (_, i) => `topic-${i}`);
  const batches = Buffer.concat(Array.from({ length: 16 }, () => benchBatch(100, 64 * 1024)));
  // A Produce answer for 10 partitions of one topic, one of them refused.
  const answer = {
    responses: [
      {
        name: 'orders',
        partitionResponses: Array.from({ length: 10 }, (_, index) => ({
          index,
          errorCode: index === 3 ? 6 : 0,
          baseOffset: 1000n,
          logAppendTimeMs: -1n,
          logStartOffset: 0n,
        })),
      },
    ],
    throttleTimeMs: 0,
  };
  let sink = 0;
  const cases: [string, (i: number) => void][] = [
    ['no metrics (the loop itself)', (i) => (sink += topics[i % TOPICS]!.length)],
    [
      'produce request: timer + bytes/records in',
      (i) => {
        const end = broker.produceTimer(-1);
        broker.produced(topics[i % TOPICS]!, 1024, 10);
        end();
      },
    ],
    [
      'fetch answer of 1 MiB: timer + bytes/records out',
      (i) => {
        const end = broker.fetchTimer('consumer');
        broker.fetched(topics[i % TOPICS]!, 'consumer', batches);
        end();
      },
    ],
    [
      'Kafka request: count, timer, errors of 10 partitions',
      () => kafka.request('Produce')(answer),
    ],
  ];
  console.log(`${OPS.toLocaleString('en')} calls per round, ${ROUNDS} rounds, ${TOPICS} topics`);
  console.log(
    'case                                                           median ns/call  (range)',
  );
  for (const [name, op] of cases) {
    const r = time(op);
    console.log(`${name.padEnd(52)} ${median(r).toFixed(0).padStart(8)}        (${spread(r)})`);
  }
  const scrapes: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    await metrics.scrape();
    scrapes.push(performance.now() - t0);
  }
  console.log(
    `scrape of this registry (${TOPICS} topics, Node's defaults): median ${median(scrapes).toFixed(2)} ms (${scrapes.map((x) => x.toFixed(2)).join(', ')})`,
  );
  if (sink < 0) console.log(sink);
}
