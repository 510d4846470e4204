import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openFilesUnder, tempDir } from './batches.test-util.js';
import { FdCache } from './fd-cache.js';
import { readAt } from './io.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

describe('FdCache', () => {
  it('never holds more than maxOpen descriptors, even when every one is busy', async () => {
    const d = tempDir();
    dirs.push(d);
    const paths = Array.from({ length: 10 }, (_, i) => {
      const p = join(d.path, `f${i}.log`);
      writeFileSync(p, `file ${i}`);
      return p;
    });
    const cache = new FdCache(3);
    let osPeak = 0;
    // 60 overlapping accesses that each hold their fd across a few event-loop turns.
    const reads = Array.from({ length: 60 }, (_, k) => {
      const i = (k * 7) % paths.length;
      return cache.use(paths[i]!, async (fd) => {
        osPeak = Math.max(osPeak, openFilesUnder(d.path));
        await new Promise((r) => setTimeout(r, 1 + (k % 3)));
        return { i, text: (await readAt(fd, 0, 16)).toString() };
      });
    });
    for (const { i, text } of await Promise.all(reads)) expect(text).toBe(`file ${i}`);
    expect(cache.peakOpen).toBeLessThanOrEqual(3);
    expect(osPeak).toBeLessThanOrEqual(3);
    expect(cache.openCount).toBeLessThanOrEqual(3);
    await cache.closeAll();
    expect(openFilesUnder(d.path)).toBe(0);
  });

  it('a failed open frees its place for the next access', async () => {
    const d = tempDir();
    dirs.push(d);
    const ok = join(d.path, 'ok.log');
    writeFileSync(ok, 'ok');
    const cache = new FdCache(1);
    await expect(cache.use(join(d.path, 'missing.log'), async () => 1)).rejects.toThrow();
    expect(await cache.use(ok, async (fd) => (await readAt(fd, 0, 2)).toString())).toBe('ok');
    await cache.closeAll();
  });
});
