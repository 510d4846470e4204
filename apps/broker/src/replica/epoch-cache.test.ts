import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaderEpochCache } from './epoch-cache.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('LeaderEpochCache', () => {
  it('says where an epoch ends, truncates, and survives a reload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'epochs-'));
    dirs.push(dir);
    const c = await LeaderEpochCache.load(dir);
    await c.assign(0, 0);
    await c.assign(2, 50);
    await c.assign(2, 70); // same epoch: no change
    await c.assign(5, 90);
    expect(c.endOf(0, 120)).toEqual({ epoch: 0, endOffset: 50 });
    expect(c.endOf(3, 120)).toEqual({ epoch: 2, endOffset: 90 });
    expect(c.endOf(5, 120)).toEqual({ epoch: 5, endOffset: 120 });
    await c.truncateTo(60);
    expect(c.all).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 50 },
    ]);
    const again = await LeaderEpochCache.load(dir);
    expect(again.latest()).toEqual({ epoch: 2, startOffset: 50 });
    expect(again.endOf(9, 60)).toEqual({ epoch: 2, endOffset: 60 });
  });
});
