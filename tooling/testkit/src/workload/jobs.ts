import { Admin, Consumer, Producer } from '@strand/client';

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

export type Job = RoundTripJob;

export async function runJob(job: Job): Promise<RoundTripResult> {
  if (job.job === 'roundtrip') return roundTrip(job);
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
