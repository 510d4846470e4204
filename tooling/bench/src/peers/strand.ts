import { join } from 'node:path';
import { Admin, Consumer, Producer, type ProducerOptions } from '@strand/client';
import { freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import { envNumber, resolveMain } from '../util.js';
import { Skipped, type TopicTarget } from './target.js';

const PARTITIONS = envNumber('STRAND_BENCH_TOPIC_PARTITIONS', 1);
/** Records per sendBatch() call (the Redis peer pipelines 1,000 XADDs). */
const CHUNK = 1024;

/** Producer settings for the runs: the SDK's defaults unless overridden by environment. */
function producerOptions(bootstrap: string[]): ProducerOptions {
  const opts: ProducerOptions = { bootstrap, clientId: 'strand-bench' };
  const linger = process.env.STRAND_BENCH_LINGER_MS;
  if (linger !== undefined && linger !== '') opts.lingerMs = Number(linger);
  const batch = process.env.STRAND_BENCH_BATCH_BYTES;
  if (batch !== undefined && batch !== '') opts.batchBytes = Number(batch);
  const buffer = process.env.STRAND_BENCH_BUFFER_BYTES;
  if (buffer !== undefined && buffer !== '') opts.bufferBytes = Number(buffer);
  return opts;
}

/** One coordinator and one broker as real processes on loopback, with a scratch directory. */
export interface StrandCluster {
  bootstrap: string[];
  /** The broker's process id (its CPU time is read from /proc). */
  brokerPid: number;
  stop(): Promise<void>;
}

export async function startStrandCluster(brokerArgs: string[] = []): Promise<StrandCluster> {
  const coordinatorMain = resolveMain('@strand/coordinator/main');
  const brokerMain = resolveMain('@strand/broker/main');
  if (!coordinatorMain) throw new Skipped('@strand/coordinator is not built (dist/main.js)');
  if (!brokerMain) throw new Skipped('@strand/broker is not built (dist/main.js)');
  const registry = new ProcessRegistry();
  const dir = tempDir('strand-bench-topics-');
  const stop = async () => {
    await registry.stopAll();
    dir.cleanup();
  };
  try {
    const coordinator = `127.0.0.1:${await freePort()}`;
    const broker = `127.0.0.1:${await freePort()}`;
    await registry.start(coordinatorMain, {
      name: 'coordinator',
      args: ['--id', '1', '--listen', coordinator, '--data', join(dir.path, 'coordinator')],
      readyLine: /listening on/,
    });
    const proc = await registry.start(brokerMain, {
      name: 'broker',
      args: [
        '--id',
        '1',
        '--listen',
        broker,
        '--coordinators',
        coordinator,
        '--data',
        join(dir.path, 'broker'),
        ...brokerArgs,
      ],
      readyLine: /broker \d+ listening on/,
    });
    return { bootstrap: [broker], brokerPid: proc.pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Strand: one coordinator and one broker as real processes on loopback, the SDK as the
 * client (`Producer.send` per record with back-pressure, `Consumer.poll` from the beginning).
 */
export async function startStrand(api: 'sendBatch' | 'send' = 'sendBatch'): Promise<TopicTarget> {
  const cluster = await startStrandCluster();
  try {
    return strandTarget(cluster, api);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** The SDK against a running cluster; closing it stops the cluster. */
export function strandTarget(
  cluster: StrandCluster,
  api: 'sendBatch' | 'send' = 'sendBatch',
): TopicTarget {
  const clients: { close(): Promise<void> }[] = [];
  {
    const { bootstrap } = cluster;
    const admin = new Admin({ bootstrap });
    clients.push(admin);
    const popts = producerOptions(bootstrap);
    const settings = [
      `acks ${popts.acks ?? 'default'}`,
      `lingerMs ${popts.lingerMs ?? 'default'}`,
      `batchBytes ${popts.batchBytes ?? 'default'}`,
      `bufferBytes ${popts.bufferBytes ?? 'default'}`,
    ].join(', ');

    return {
      name: api === 'send' ? 'Strand send()' : 'Strand',
      describe: `1 coordinator + 1 broker, ${PARTITIONS} partition(s), @strand/client Producer.${api === 'send' ? 'send() per record' : `sendBatch() of ${CHUNK} records`} (${settings}) and Consumer`,

      async createTopic(topic) {
        await admin.createTopic({ name: topic, partitions: PARTITIONS, replicationFactor: 1 });
        // Wait until every partition has a leader, so the first sends do not measure propagation.
        const until = Date.now() + 15_000;
        for (;;) {
          try {
            const d = await admin.describeTopic(topic);
            if (d.partitions.length === PARTITIONS && d.partitions.every((p) => p.leader >= 0))
              return;
          } catch (err) {
            if (Date.now() > until) throw err;
          }
          if (Date.now() > until) throw new Error(`topic ${topic} has no leader after 15 s`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },

      async produce(topic, value, count, deadline) {
        const producer = new Producer(popts);
        let failed: unknown;
        let issued = 0;
        const onError = (err: unknown) => {
          failed ??= err;
        };
        try {
          const chunk = Array.from({ length: CHUNK }, () => ({ topic, value }));
          while (issued < count && failed === undefined) {
            if ((issued & 1023) === 0 && performance.now() >= deadline) break;
            if (!producer.writable) await producer.whenWritable();
            if (api === 'send') {
              producer.send({ topic, value }).catch(onError);
              issued += 1;
            } else {
              // Like the Redis pipelines of 1,000 XADDs: one call, no promise per record.
              const n = Math.min(CHUNK, count - issued);
              producer.sendBatch(n === CHUNK ? chunk : chunk.slice(0, n)).catch(onError);
              issued += n;
            }
          }
          await producer.flush();
        } finally {
          await producer.close();
        }
        if (failed !== undefined) throw failed;
        return issued;
      },

      async consume(topic, count, deadline) {
        const consumer = new Consumer({ bootstrap, autoOffsetReset: 'earliest' });
        let records = 0;
        let bytes = 0;
        try {
          await consumer.assignTopic(topic, 'beginning');
          while (records < count && performance.now() < deadline) {
            const batch = await consumer.poll(1000);
            for (const r of batch) bytes += r.value?.length ?? 0;
            records += batch.length;
          }
        } finally {
          await consumer.close();
        }
        return { records, bytes };
      },

      // Latency is timed per record, through send(): the 'Strand send()' row has it.
      ...(api === 'send'
        ? {
            async sender(topic: string, value: Buffer) {
              const producer = new Producer(popts);
              return {
                send: () => producer.send({ topic, value }),
                close: () => producer.close(),
              };
            },
          }
        : {}),

      async close() {
        try {
          for (const c of clients) await c.close().catch(() => undefined);
        } finally {
          await cluster.stop();
        }
      },
    };
  }
}
