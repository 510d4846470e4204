import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('coordinator config', () => {
  it('merges file < env < flags and defaults the peer list to this node', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-cfg-'));
    try {
      const file = join(dir, 'c.json');
      writeFileSync(
        file,
        JSON.stringify({ id: 1, listen: '127.0.0.1:1', dataDir: '/from-file', tickMs: 40 }),
      );
      const c = loadConfig(['--config', file, '--listen', '127.0.0.1:3'], {
        STRAND_LISTEN: '127.0.0.1:2',
        STRAND_DATA_DIR: '/from-env',
      });
      expect(c).toMatchObject({
        id: 1,
        listen: '127.0.0.1:3',
        dataDir: '/from-env',
        tickMs: 40,
        peers: { '1': '127.0.0.1:3' },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses peers and raft peers', () => {
    const c = loadConfig(
      [
        '--id',
        '2',
        '--listen',
        '127.0.0.1:5',
        '--data',
        'd',
        '--peers',
        '1=127.0.0.1:4,2=127.0.0.1:5',
        '--raft-peers',
        '1=127.0.0.1:9',
      ],
      {},
    );
    expect(c.peers).toEqual({ '1': '127.0.0.1:4', '2': '127.0.0.1:5' });
    expect(c.raftPeers).toEqual({ '1': '127.0.0.1:9' });
    expect(c.peerListen).toBe('127.0.0.1:6');
  });

  it('puts Raft on a port of its own: the client port + 1 unless told, only with other voters', () => {
    const three = loadConfig(['--id', '1', '--listen', '0.0.0.0:2379', '--data', 'd'], {
      STRAND_PEERS: '1=10.0.0.1:2379,2=10.0.0.2:2379,3=10.0.0.3:4000',
    });
    expect(three.peerListen).toBe('0.0.0.0:2380');
    expect(three.raftPeers).toEqual({ '2': '10.0.0.2:2380', '3': '10.0.0.3:4001' });
    const alone = loadConfig(['--id', '1', '--listen', '127.0.0.1:2379', '--data', 'd'], {});
    expect(alone.peerListen).toBeUndefined();
    expect(alone.raftPeers).toEqual({});
    const told = loadConfig(
      ['--id', '1', '--listen', '127.0.0.1:2379', '--data', 'd', '--peer-listen', '10.1.1.1:7000'],
      { STRAND_CLUSTER_ID: 'prod-eu' },
    );
    expect(told.peerListen).toBe('10.1.1.1:7000');
    expect(told.clusterId).toBe('prod-eu');
  });

  it('rejects bad config with a clear, typed error', () => {
    const bad: [string[], RegExp][] = [
      [['--listen', '127.0.0.1:5', '--data', 'd'], /id/],
      [['--id', '0', '--listen', '127.0.0.1:5', '--data', 'd'], /id/],
      [['--id', '1', '--listen', 'nowhere', '--data', 'd'], /listen: expected host:port/],
      [
        ['--id', '3', '--listen', '127.0.0.1:5', '--data', 'd', '--peers', '1=127.0.0.1:4'],
        /must include this node's id 3/,
      ],
      [['--id', '1', '--listen', '127.0.0.1:5', '--data', 'd', '--peers', 'garbage'], /bad peer/],
      [['--id', '1', '--bogus'], /Unknown option/],
      [
        ['--id', '1', '--listen', '127.0.0.1:5', '--data', 'd', '--peer-listen', '127.0.0.1:5'],
        /peerListen: must differ from listen/,
      ],
      [
        ['--id', '1', '--listen', '127.0.0.1:5', '--data', 'd', '--cluster-id', 'a b'],
        /cluster id/,
      ],
      [['--config', '/no/such/file.json'], /cannot read config file/],
    ];
    for (const [argv, message] of bad) {
      expect(() => loadConfig(argv, {})).toThrow(InvalidConfigError);
      expect(() => loadConfig(argv, {})).toThrow(message);
    }
  });
});
