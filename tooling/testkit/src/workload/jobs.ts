import { Admin, Consumer, KvClient, Producer } from '@strand/client';
import { type KvOp, kvClientLoop, kvFinalReads } from './kv.js';
import { type Acked, produceUntil } from './produce.js';

/** A topic round trip: create it, produce `records` with acks=all, read them all back. */
export interface RoundTripJob {
  job: 'roundtrip';
  bootstrap: string[];
  topic: string;
  partitions: number;
  replicationFactor: number;
  records: number;
  out?: string;
}

export interface RoundTripResult {
  /** Where the cluster says its brokers are (what this client was told to dial). */
  brokers: { id: number; address: string }[];
  produced: number;
  consumed: number;
  /** Values read back that were not produced, or read twice. */
  unexpected: string[];
}

export type Job = RoundTripJob | LoadJob;

/** Runs `job`; a job that runs until stopped (load) stops once `stopped()` is true. */
export async function runJob(
  job: Job,
  stopped: () => boolean,
): Promise<RoundTripResult | LoadResult> {
  if (job.job === 'roundtrip') return roundTrip(job);
  if (job.job === 'load') return load(job, stopped);
  throw new Error(`unknown job ${JSON.stringify((job as { job?: unknown }).job)}`);
}

async function roundTrip(job: RoundTripJob): Promise<RoundTripResult> {
  const admin = new Admin({ bootstrap: job.bootstrap });
  try {
    await admin.createTopic({
      name: job.topic,
      partitions: job.partitions,
      replicationFactor: job.replicationFactor,
      configs: { 'min.insync.replicas': String(Math.min(2, job.replicationFactor)) },
    });
    const brokers = (await admin.describeCluster()).brokers.map((b) => ({
      id: b.id,
      address: b.address,
    }));
    const producer = new Producer({ bootstrap: job.bootstrap, acks: 'all' });
    const values = Array.from({ length: job.records }, (_, i) => `v${i}`);
    await Promise.all(
      values.map((value, i) => producer.send({ topic: job.topic, key: `k${i % 7}`, value })),
    );
    await producer.close();

    const consumer = new Consumer({ bootstrap: job.bootstrap });
    await consumer.assignTopic(job.topic, 'beginning');
    const want = new Set(values);
    const unexpected: string[] = [];
    let consumed = 0;
    const deadline = Date.now() + 60_000;
    while (consumed < job.records && Date.now() < deadline) {
      for (const r of await consumer.poll(1000)) {
        const value = r.value?.toString() ?? '';
        if (!want.delete(value)) unexpected.push(value);
        consumed += 1;
      }
    }
    await consumer.close();
    return { brokers, produced: job.records, consumed, unexpected };
  } finally {
    await admin.close();
  }
}

/** Load for a chaos test, until stopped: acks=all producers on a topic and KV clients. */
export interface LoadJob {
  job: 'load';
  bootstrap: string[];
  coordinators: string[];
  topic: string;
  producers: number;
  /** Keys per producer. */
  keys: number;
  kvClients: number;
  kvKeys: string[];
  out?: string;
}

export interface LoadResult {
  /** Every acknowledged value and where it was written: [value, partition, offset]. */
  acked: [string, number, number][];
  failed: number;
  /** Every KV operation, final linearizable reads of every key included. */
  history: KvOp[];
}

async function load(job: LoadJob, stopped: () => boolean): Promise<LoadResult> {
  const acked = new Map<string, Acked>();
  const failed = { count: 0 };
  const history: KvOp[] = [];
  const kvAcked = new Map<string, string>();
  const kv = Array.from(
    { length: job.kvClients },
    () => new KvClient({ bootstrap: job.coordinators, timeoutMs: 2000 }),
  );
  const progress = setInterval(
    () =>
      console.log(`progress ${acked.size} acked, ${failed.count} failed, ${history.length} kv ops`),
    1000,
  );
  console.log('load started');
  await Promise.all([
    ...Array.from({ length: job.producers }, (_, producer) =>
      produceUntil({
        bootstrap: job.bootstrap,
        topic: job.topic,
        producer,
        keys: job.keys,
        done: stopped,
        acked,
        failed,
      }),
    ),
    ...kv.map((client, id) => kvClientLoop(client, id + 1, job.kvKeys, stopped, history, kvAcked)),
  ]);
  clearInterval(progress);
  await kvFinalReads(kv[0]!, job.kvKeys, history);
  for (const client of kv) client.close();
  return {
    acked: [...acked].map(([value, at]) => [value, at.partition, at.offset]),
    failed: failed.count,
    history,
  };
}
