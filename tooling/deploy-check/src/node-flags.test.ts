import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVER_NODE_FLAGS } from '@strand/ops';
import { describe, expect, it } from 'vitest';
import { REPO } from './repo.js';

/** Each server bin, with arguments that keep it running (a broker waits for its coordinator). */
const BINS: [string, (dir: string) => string[]][] = [
  [
    'apps/broker/bin/strand-broker.js',
    (dir) => [
      '--id',
      '1',
      '--listen',
      '127.0.0.1:0',
      '--coordinators',
      '127.0.0.1:1',
      '--data',
      dir,
    ],
  ],
  [
    'apps/coordinator/bin/strand-coordinator.js',
    (dir) => ['--id', '1', '--listen', '127.0.0.1:0', '--data', dir],
  ],
];

/** The command line of a process once env has exec'd node, as the kernel holds it. */
async function nodeCmdline(pid: number): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (argv[0] === 'node' || argv[0]?.endsWith('/node')) return argv;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`process ${pid} never became node`);
}

describe('the servers’ Node flags', () => {
  it.each(BINS)('%s runs node with SERVER_NODE_FLAGS, from its #! line', async (bin, args) => {
    const shebang = readFileSync(join(REPO, bin), 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${SERVER_NODE_FLAGS.join(' ')}`);
    // Run through the #! line itself: the kernel and env, not a copy of what they would do.
    const dir = mkdtempSync(join(tmpdir(), 'strand-node-flags-'));
    const child = spawn(join(REPO, bin), args(dir), { stdio: 'ignore' });
    try {
      const argv = await nodeCmdline(child.pid!);
      expect(argv.slice(1, 1 + SERVER_NODE_FLAGS.length)).toEqual([...SERVER_NODE_FLAGS]);
      expect(argv[SERVER_NODE_FLAGS.length + 1]).toBe(join(REPO, bin));
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
