import { execFileSync } from 'node:child_process';
import {
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort, type NodeProcess, tempDir } from '@strand/testkit';
import { envNumber } from '../util.js';
import { findBinary, startBinary } from './binary.js';
import { Skipped, type TopicTarget } from './target.js';

/** JetStream publishes awaiting their acks at once while producing. */
const WINDOW = envNumber('STRAND_BENCH_NATS_WINDOW', 512);
/** Messages an ordered consumer asks for per pull. */
const PULL = envNumber('STRAND_BENCH_NATS_PULL', 10_000);

/**
 * NATS JetStream: its own `nats-server -js` (file storage, the server's default sync), one
 * stream per topic on subject `<topic>.data`; @nats-io/transport-node + @nats-io/jetstream as
 * the client (async publishes with up to WINDOW acks outstanding, an ordered consumer with
 * consume()).
 */
export async function startNats(): Promise<TopicTarget> {
  const bin = findBinary('nats-server', 'STRAND_BENCH_NATS_SERVER');
  if (!bin) throw new Skipped('nats-server not found (apt-get install nats-server)');
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  const dir = tempDir('strand-bench-nats-');
  const port = await freePort();
  let server: NodeProcess;
  try {
    server = await startBinary(
      bin,
      ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir.path],
      /Server is ready/,
      'nats-server',
    );
  } catch (err) {
    dir.cleanup();
    throw err;
  }
  const nc = await connect({ servers: `127.0.0.1:${port}` });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const subject = (topic: string) => `${topic}.data`;

  return {
    name: 'NATS JetStream',
    describe: `${version}, file storage (default sync), @nats-io/jetstream, ${WINDOW} publishes in flight, ordered consumer pulling ${PULL}`,

    async createTopic(topic) {
      await jsm.streams.add({
        name: topic,
        subjects: [subject(topic)],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        num_replicas: 1,
      });
    },

    async produce(topic, value, count, deadline) {
      const subj = subject(topic);
      let issued = 0;
      let failed: unknown;
      const pending: Promise<unknown>[] = [];
      while (issued < count && performance.now() < deadline && failed === undefined) {
        const n = Math.min(WINDOW / 2, count - issued);
        for (let i = 0; i < n; i++) {
          pending.push(
            js.publish(subj, value).catch((err: unknown) => {
              failed ??= err;
            }),
          );
        }
        issued += n;
        // Keep between WINDOW/2 and WINDOW acks outstanding.
        if (pending.length >= WINDOW) await Promise.all(pending.splice(0, pending.length - n));
      }
      await Promise.all(pending);
      if (failed !== undefined) throw failed;
      return issued;
    },

    async consume(topic, count, deadline) {
      const consumer = await js.consumers.get(topic);
      const messages = await consumer.consume({ max_messages: PULL });
      let records = 0;
      let bytes = 0;
      const timer = setTimeout(
        () => void messages.stop(),
        Math.max(0, deadline - performance.now()),
      );
      try {
        for await (const m of messages) {
          records += 1;
          bytes += m.data.length;
          if (records >= count) break;
        }
      } finally {
        clearTimeout(timer);
        await messages.close();
      }
      return { records, bytes };
    },

    async sender(topic, value) {
      const subj = subject(topic);
      return { send: () => js.publish(subj, value), close: async () => {} };
    },

    async close() {
      try {
        await nc.close();
      } finally {
        await server.terminate();
        dir.cleanup();
      }
    },
  };
}
