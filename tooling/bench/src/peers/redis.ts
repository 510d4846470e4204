import { execFileSync } from 'node:child_process';
import { freePort, type NodeProcess, tempDir } from '@strand/testkit';
import { Redis } from 'ioredis';
import { envNumber } from '../util.js';
import { findBinary, startBinary } from './binary.js';
import { Skipped, type TopicTarget } from './target.js';

/** XADDs per pipeline, and pipelines kept in flight while producing. */
const PIPELINE = envNumber('STRAND_BENCH_REDIS_PIPELINE', 1000);
const PIPELINES_IN_FLIGHT = envNumber('STRAND_BENCH_REDIS_PIPELINES_IN_FLIGHT', 4);
/** Entries per XREAD while consuming. */
const READ_COUNT = envNumber('STRAND_BENCH_REDIS_READ_COUNT', 10_000);

/**
 * Redis Streams: its own `redis-server` (AOF on, fsync every second, no RDB snapshots), one
 * stream key per topic, one field `v` per entry; ioredis as the client (XADD in pipelines,
 * XREAD COUNT in a loop, auto-pipelined single XADDs for the latency run).
 */
export async function startRedis(): Promise<TopicTarget> {
  const bin = findBinary('redis-server', 'STRAND_BENCH_REDIS_SERVER');
  if (!bin) throw new Skipped('redis-server not found (apt-get install redis-server)');
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  const dir = tempDir('strand-bench-redis-');
  const port = await freePort();
  let server: NodeProcess | undefined;
  const clients: Redis[] = [];
  const client = (autoPipelining = false): Redis => {
    const c = new Redis({
      host: '127.0.0.1',
      port,
      enableAutoPipelining: autoPipelining,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
    });
    clients.push(c);
    return c;
  };
  try {
    server = await startBinary(
      bin,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--daemonize',
        'no',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--dir',
        dir.path,
      ],
      /Ready to accept connections/,
      'redis-server',
    );
  } catch (err) {
    dir.cleanup();
    throw err;
  }
  const main = client();
  await main.ping();
  const proc = server;

  return {
    name: 'Redis Streams',
    describe: `${version.replace(/ sha=.*$/, '')}, AOF appendfsync everysec, ioredis, pipelines of ${PIPELINE} XADDs x${PIPELINES_IN_FLIGHT}, XREAD COUNT ${READ_COUNT}`,

    async createTopic(topic) {
      await main.del(topic);
    },

    async produce(topic, value, count, deadline) {
      let issued = 0;
      let failed: unknown;
      const inflight = new Set<Promise<void>>();
      while (issued < count && performance.now() < deadline && failed === undefined) {
        const n = Math.min(PIPELINE, count - issued);
        const pipe = main.pipeline();
        for (let i = 0; i < n; i++) pipe.xadd(topic, '*', 'v', value);
        issued += n;
        const p = pipe.exec().then(
          (results) => {
            for (const [err] of results ?? []) if (err) failed ??= err;
          },
          (err: unknown) => {
            failed ??= err;
          },
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        if (inflight.size >= PIPELINES_IN_FLIGHT) await Promise.race(inflight);
      }
      await Promise.all(inflight);
      if (failed !== undefined) throw failed;
      return issued;
    },

    async consume(topic, count, deadline) {
      const reader = client();
      let last = '0-0';
      let records = 0;
      let bytes = 0;
      try {
        while (records < count && performance.now() < deadline) {
          const res = await reader.xreadBuffer('COUNT', READ_COUNT, 'STREAMS', topic, last);
          const entries = res?.[0]?.[1];
          if (!entries || entries.length === 0) continue;
          for (const [, fields] of entries) {
            records += 1;
            bytes += fields[1]?.length ?? 0;
          }
          last = entries[entries.length - 1]![0].toString();
        }
      } finally {
        reader.disconnect();
      }
      return { records, bytes };
    },

    async sender(topic, value) {
      const c = client(true);
      await c.ping();
      return {
        send: () => c.xadd(topic, '*', 'v', value),
        close: async () => {
          c.disconnect();
        },
      };
    },

    async close() {
      for (const c of clients) c.disconnect();
      await proc.terminate();
      dir.cleanup();
    },
  };
}
