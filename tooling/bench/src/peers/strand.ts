import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Consumer, Producer, type ProducerOptions } from '@strand/client';
import { makePki, writePki } from '@strand/security';
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

/** How a client connects: nothing more on a plain cluster; TLS and a user on a secure one. */
type ClientSecurity = Pick<ProducerOptions, 'tls' | 'sasl'>;

/** One coordinator and one broker as real processes on loopback, with a scratch directory. */
export interface StrandCluster {
  bootstrap: string[];
  /** The broker's process id (its CPU time is read from /proc). */
  brokerPid: number;
  /** What the SDK's clients connect with, and the admin (a super user's certificate). */
  client: ClientSecurity;
  admin: ClientSecurity;
  /** A secure cluster's CA file and SCRAM user, for Kafka clients over SASL_SSL. */
  sasl?: { caFile: string; username: string; password: string };
  /** Whether that user is a super user (no ACL is looked at for it). */
  superUser?: boolean;
  stop(): Promise<void>;
}

const BENCH_USER = { username: 'bench', password: 'bench-password' };

/**
 * `secure`: TLS on every listener, --authentication required (so the Kafka listener is
 * SASL_SSL), and a SCRAM-SHA-512 user for the clients, checked against ACLs that allow it
 * every topic and group — or, with `superUser`, listed in --super-users, which every check
 * passes before looking at an ACL (what authorization off would cost, all else the same).
 */
export async function startStrandCluster(
  brokerArgs: string[] = [],
  opts: { secure?: boolean; superUser?: boolean } = {},
): Promise<StrandCluster> {
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
    const files = opts.secure
      ? writePki(join(dir.path, 'pki'), await makePki(['node-1', 'admin']))
      : undefined;
    const nodeFlags = files
      ? [
          ...['--tls-cert', files.cert('node-1'), '--tls-key', files.key('node-1')],
          ...['--tls-ca', files.ca, '--authentication', 'required'],
          ...['--super-users', `User:node-1,User:admin${opts.superUser ? ',User:bench' : ''}`],
        ]
      : [];
    const coordinator = `127.0.0.1:${await freePort()}`;
    const broker = `127.0.0.1:${await freePort()}`;
    await registry.start(coordinatorMain, {
      name: 'coordinator',
      args: [
        ...['--id', '1', '--listen', coordinator, '--data', join(dir.path, 'coordinator')],
        ...nodeFlags,
      ],
      readyLine: /listening on/,
    });
    const proc = await registry.start(brokerMain, {
      name: 'broker',
      args: [
        ...['--id', '1', '--listen', broker, '--coordinators', coordinator],
        ...['--data', join(dir.path, 'broker'), ...nodeFlags, ...brokerArgs],
      ],
      readyLine: /broker \d+ listening on/,
    });
    const bootstrap = [broker];
    if (!files) return { bootstrap, brokerPid: proc.pid, client: {}, admin: {}, stop };
    const ca = readFileSync(files.ca);
    const admin = {
      tls: { ca, cert: readFileSync(files.cert('admin')), key: readFileSync(files.key('admin')) },
    };
    const client = { tls: { ca }, sasl: BENCH_USER };
    await createUser(bootstrap, admin, client, !opts.superUser);
    return {
      bootstrap,
      brokerPid: proc.pid,
      client,
      admin,
      sasl: { caFile: files.ca, ...BENCH_USER },
      superUser: opts.superUser === true,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Makes the bench user and its ACLs, and waits until the broker knows it (by watch). */
async function createUser(
  bootstrap: string[],
  admin: ClientSecurity,
  client: ClientSecurity,
  acls: boolean,
) {
  const a = new Admin({ bootstrap, ...admin });
  try {
    await a.createUser(BENCH_USER.username, BENCH_USER.password);
    // Authorization comes with authentication: every request is checked against these.
    if (acls)
      await a.createAcls(
        (['topic', 'group'] as const).map((resourceType) => ({
          resourceType,
          name: '*',
          principal: `User:${BENCH_USER.username}`,
          operation: 'all',
          permission: 'allow',
        })),
      );
  } finally {
    await a.close();
  }
  const deadline = Date.now() + 15_000;
  for (;;) {
    const user = new Admin({ bootstrap, ...client, retries: 0 });
    try {
      await user.listTopics();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await user.close();
    }
  }
}

/**
 * Strand: one coordinator and one broker as real processes on loopback, the SDK as the
 * client (`Producer.send` per record with back-pressure, `Consumer.poll` from the beginning).
 * `secure`: TLS everywhere and a SCRAM-SHA-512 user allowed by ACLs (STRAND_BENCH_TOPIC_SYSTEMS=
 * strand-secure), or a super user (strand-secure-super: authorization's cost, all else equal).
 */
export async function startStrand(
  api: 'sendBatch' | 'send' = 'sendBatch',
  secure: false | 'acls' | 'super-user' = false,
): Promise<TopicTarget> {
  const cluster = await startStrandCluster([], {
    secure: secure !== false,
    superUser: secure === 'super-user',
  });
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
    const admin = new Admin({ bootstrap, ...cluster.admin });
    clients.push(admin);
    const popts = { ...producerOptions(bootstrap), ...cluster.client };
    const secure = cluster.sasl !== undefined;
    const settings = [
      `acks ${popts.acks ?? 'default'}`,
      `lingerMs ${popts.lingerMs ?? 'default'}`,
      `batchBytes ${popts.batchBytes ?? 'default'}`,
      `bufferBytes ${popts.bufferBytes ?? 'default'}`,
    ].join(', ');

    return {
      name: `${api === 'send' ? 'Strand send()' : 'Strand'}${secure ? ' TLS+SCRAM' : ''}${cluster.superUser ? ' super user' : ''}`,
      describe: `1 coordinator + 1 broker${secure ? ` (TLS on every listener, a SCRAM-SHA-512 user${cluster.superUser ? ' listed in --super-users, no ACL looked at' : ' allowed by ACLs'})` : ''}, ${PARTITIONS} partition(s), @strand/client Producer.${api === 'send' ? 'send() per record' : `sendBatch() of ${CHUNK} records`} (${settings}) and Consumer`,

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
        const consumer = new Consumer({
          bootstrap,
          autoOffsetReset: 'earliest',
          ...cluster.client,
        });
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
