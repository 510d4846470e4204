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
      [['--config', '/no/such/file.json'], /cannot read config file/],
    ];
    for (const [argv, message] of bad) {
      expect(() => loadConfig(argv, {})).toThrow(InvalidConfigError);
      expect(() => loadConfig(argv, {})).toThrow(message);
    }
  });
});
