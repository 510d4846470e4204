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

/** A promise and its resolve (Node 20 has no Promise.withResolvers). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Waits for a condition (descriptors open and close as the event loop gets to them). */
async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

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

  it('serves waiting accesses in arrival order, one freed place at a time', async () => {
    const d = tempDir();
    dirs.push(d);
    const paths = Array.from({ length: 6 }, (_, i) => {
      const p = join(d.path, `f${i}.log`);
      writeFileSync(p, `file ${i}`);
      return p;
    });
    const cache = new FdCache(2);
    const order: number[] = [];
    const gates = [deferred(), deferred()];
    // Two long accesses take both places; four more queue behind them.
    const held = [0, 1].map((i) => cache.use(paths[i]!, () => gates[i]!.promise));
    const queued = [2, 3, 4, 5].map((i) =>
      cache.use(paths[i]!, async () => {
        order.push(i);
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(cache.queued).toBe(4);
    expect(order).toEqual([]);
    // One place frees: the queued accesses go through it one after another, in arrival order
    // (with both freed at once, two opens race and either may finish first).
    gates[0]!.resolve();
    await Promise.all(queued);
    expect(order).toEqual([2, 3, 4, 5]);
    gates[1]!.resolve();
    await Promise.all(held);
    expect(cache.peakOpen).toBeLessThanOrEqual(2);
    await cache.closeAll();
  });

  it('thousands of files through a small bound: every access completes, the bound holds', async () => {
    const d = tempDir();
    dirs.push(d);
    const paths = Array.from({ length: 2000 }, (_, i) => {
      const p = join(d.path, `f${i}.log`);
      writeFileSync(p, `${i}`);
      return p;
    });
    const cache = new FdCache(16);
    const texts = await Promise.all(
      Array.from({ length: 6000 }, (_, k) =>
        cache.use(paths[k % paths.length]!, async (fd) => (await readAt(fd, 0, 8)).toString()),
      ),
    );
    expect(texts).toEqual(Array.from({ length: 6000 }, (_, k) => `${k % paths.length}`));
    expect(cache.peakOpen).toBeLessThanOrEqual(16);
    expect(cache.queued).toBe(0);
    await cache.closeAll();
    expect(openFilesUnder(d.path)).toBe(0);
  });

  it('forgetting a file someone is reading closes it only when they are done', async () => {
    const d = tempDir();
    dirs.push(d);
    const path = join(d.path, 'busy.log');
    writeFileSync(path, 'still here');
    const cache = new FdCache(4);
    const gate = deferred();
    const reading = cache.use(path, async (fd) => {
      await gate.promise;
      return (await readAt(fd, 0, 10)).toString();
    });
    await until(() => openFilesUnder(d.path) === 1); // the reader has its descriptor
    await cache.forget(path);
    expect(openFilesUnder(d.path)).toBe(1);
    gate.resolve();
    expect(await reading).toBe('still here');
    // Closed once the reader is done, and counted so once the close has completed.
    await until(() => openFilesUnder(d.path) === 0 && cache.openCount === 0);
  });
});
