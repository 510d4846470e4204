import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvClient } from '@strand/client';
import { ENTRY_VERSION } from '@strand/kv';
import { eventually, freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN } from './cluster.test-util.js';

// A single-node coordinator's data folder as the previous binding (rocksdb 5.2.1, RocksDB
// 6.17.3) left it after `kv put greeting …`, `put config/a 1`, `put config/b 2`, `del config/a`
// and a clean stop.
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'rocksdb-6.17-data');

const registry = new ProcessRegistry();
const dir = tempDir('strand-old-data-');
afterAll(async () => {
  await registry.stopAll();
  dir.cleanup();
});

describe('a data folder from an earlier release', () => {
  it('opens with its keys, revisions and deletions, and takes new writes that survive a restart', async () => {
    const data = join(dir.path, 'coordinator');
    cpSync(FIXTURE, data, { recursive: true });
    const address = `127.0.0.1:${await freePort()}`;
    const peerAddress = `127.0.0.1:${await freePort()}`;
    const start = () =>
      registry.start(MAIN, {
        name: 'coordinator',
        args: ['--id', '1', '--listen', address, '--peer-listen', peerAddress, '--data', data],
        readyLine: /listening on/,
      });
    let proc = await start();
    const client = new KvClient({ bootstrap: [address], timeoutMs: 3000, retries: 8 });
    try {
      expect((await client.get('greeting'))?.value.toString()).toBe('hello from rocksdb 5.2.1');
      const config = await client.range('config/');
      expect(config.kvs.map((kv) => `${kv.key}=${kv.value}@${kv.modRevision}`)).toEqual([
        'config/b=2@3',
      ]);
      expect((await client.put('after', 'upgrade')).revision).toBe(5);
      // Its only member reads the binary entry format: activated, as a new cluster's would be.
      await eventually(
        'the newest format activated',
        async () => (await client.members()).kvFormat === ENTRY_VERSION,
      );

      await proc.terminate();
      proc = await start();
      expect((await client.get('after'))?.value.toString()).toBe('upgrade');
      expect((await client.get('greeting'))?.version).toBe(1);
      // The folder now says what it is.
      expect(JSON.parse(readFileSync(join(data, 'strand-data-format.json'), 'utf8'))).toEqual({
        kind: 'coordinator',
        version: 1,
      });

      // A new member replays the whole log from index 1: the earlier release's JSON entries,
      // then the activation, then binary ones.
      const learner = `127.0.0.1:${await freePort()}`;
      const learnerPeer = `127.0.0.1:${await freePort()}`;
      await client.memberAdd(2, learner, { peerAddress: learnerPeer });
      const { clusterId } = await client.members();
      await registry.start(MAIN, {
        name: 'learner',
        args: [
          ...['--id', '2', '--listen', learner, '--peer-listen', learnerPeer],
          ...['--join', 'true', '--cluster-id', clusterId, '--data', join(dir.path, 'learner')],
          ...['--peers', `1=${address},2=${learner}`, '--raft-peers', `1=${peerAddress}`],
        ],
        readyLine: /listening on/,
      });
      const replica = new KvClient({ bootstrap: [learner], timeoutMs: 3000, retries: 8 });
      try {
        const all = await eventually('the learner caught up', async () => {
          const r = await replica.range('a', { consistency: 'stale', end: 'z' });
          return r.kvs.some((kv) => kv.key.toString() === 'after') ? r : undefined;
        });
        expect(all.kvs.map((kv) => `${kv.key}=${kv.value}@${kv.modRevision}`)).toEqual([
          'after=upgrade@5',
          'config/b=2@3',
          'greeting=hello from rocksdb 5.2.1@1',
        ]);
        expect((await replica.members()).kvFormat).toBe(ENTRY_VERSION);
      } finally {
        replica.close();
      }
    } finally {
      client.close();
    }
  });

  it('is refused when its layout is newer than this release, with a line that names it, and nothing written', async () => {
    const newer = join(dir.path, 'newer');
    mkdirSync(newer);
    writeFileSync(join(newer, 'strand-data-format.json'), '{"kind":"coordinator","version":2}');
    const coordinator = registry.spawnNode(MAIN, {
      name: 'coordinator-newer',
      args: ['--id', '1', '--listen', `127.0.0.1:${await freePort()}`, '--data', newer],
    });
    expect(await coordinator.exited).toBe(1);
    expect(coordinator.lines.join('\n')).toMatch(
      /coordinator data format 2, newer than this release understands \(1\)/,
    );
    expect(readdirSync(newer)).toEqual(['strand-data-format.json']);
  });
});
