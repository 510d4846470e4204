import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Role } from '../raft/types.js';
import { KvNode } from './kv-node.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function singleNode(
  timing: { tickMs: number; electionTicks?: number } = { tickMs: 5 },
): Promise<KvNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strand-kv-node-'));
  dirs.push(dataDir);
  return KvNode.open({
    id: 1,
    peers: new Map([[1, '127.0.0.1:1']]),
    dataDir,
    transport: { send: () => {} },
    ...timing,
  });
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('KvNode', () => {
  it('header() says what status() says of the member, leader, term, revision and applied index', async () => {
    const node = await singleNode();
    try {
      await until(() => node.status().role === Role.Leader);
      for (let i = 0; i < 3; i++)
        await node.propose({ t: 'put', key: Buffer.from(`k${i}`), value: Buffer.from('v') });
      const s = node.status();
      expect(s.revision).toBe(3);
      expect(node.header()).toEqual({
        id: s.id,
        leader: s.leader,
        term: s.term,
        revision: s.revision,
        applied: s.applied,
      });
      expect(node.header()).toMatchObject({ id: 1, leader: 1, revision: 3 });
    } finally {
      await node.close();
    }
  });

  it('a single node just started leads after one tick, not after an election timeout of 40 ticks or more', async () => {
    // 40 ticks of 100 ms: untouched, the first election would come after 4-8 s.
    const node = await singleNode({ tickMs: 100, electionTicks: 40 });
    try {
      await until(() => node.status().role === Role.Leader, 2_000);
      expect(node.status().term).toBe(1);
    } finally {
      await node.close();
    }
  });
});
