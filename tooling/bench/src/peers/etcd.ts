import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort, type NodeProcess, tempDir } from '@strand/testkit';
import { Etcd3 } from 'etcd3';
import { findBinary, startBinary } from './binary.js';
import { type KvTarget, Skipped } from './target.js';

/**
 * etcd (Debian `etcd-server`): `members` members on loopback, each its own data dir with the WAL
 * fsynced on every commit (etcd's default), and `channels` `etcd3` clients, each with its own
 * gRPC connection to all members (a follower forwards a put to the leader, as Strand's do).
 */
export async function startEtcd(members: number, channels: number): Promise<KvTarget> {
  const bin = findBinary('etcd', 'STRAND_BENCH_ETCD');
  if (!bin) throw new Skipped('etcd not found (apt-get install etcd-server)');
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' })
    .split('\n')[0]
    ?.replace('Version: ', '')
    .trim();
  const dir = tempDir('strand-bench-etcd-');
  const nodes = await Promise.all(
    Array.from({ length: members }, async (_, i) => ({
      name: `e${i + 1}`,
      client: `http://127.0.0.1:${await freePort()}`,
      peer: `http://127.0.0.1:${await freePort()}`,
    })),
  );
  const cluster = nodes.map((n) => `${n.name}=${n.peer}`).join(',');
  const started: NodeProcess[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((p) => p.terminate()));
    dir.cleanup();
  };
  try {
    // All members at once: none is ready to serve before a leader is elected.
    await Promise.all(
      nodes.map(async (n) => {
        const args = [
          ...['--name', n.name, '--data-dir', join(dir.path, n.name)],
          ...['--listen-client-urls', n.client, '--advertise-client-urls', n.client],
          ...['--listen-peer-urls', n.peer, '--initial-advertise-peer-urls', n.peer],
          ...['--initial-cluster', cluster, '--initial-cluster-state', 'new'],
          ...['--initial-cluster-token', 'strand-bench', '--logger', 'zap'],
        ];
        started.push(
          await startBinary(
            bin,
            args,
            /serving client traffic|ready to serve client requests/,
            n.name,
            60_000,
          ),
        );
      }),
    );
  } catch (err) {
    await stopAll();
    throw err;
  }
  const hosts = nodes.map((n) => n.client);
  const clients = Array.from({ length: channels }, () => new Etcd3({ hosts }));
  return {
    name: 'etcd',
    describe: `${version ?? 'etcd'}, ${members} members, WAL fsync per commit, etcd3 npm client x${channels}`,
    channels: clients.map((c) => ({
      put: (key: string, value: string) => c.put(key).value(value).exec(),
    })),
    serverRoles: async () => [{ role: 'members', pids: started.map((p) => p.pid) }],
    async close() {
      for (const c of clients) c.close();
      await stopAll();
    },
  };
}
