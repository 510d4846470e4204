import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BackgroundWork } from '../background.js';
import { tempDir } from '../batches.test-util.js';
import { PartitionLog } from '../partition-log.js';
import { keyedBatch } from './compaction.test-util.js';
import { type CleanCandidate, LogCleaner } from './log-cleaner.js';
import { IoThrottle } from './throttle.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

async function dirtyLog(name: string): Promise<CleanCandidate> {
  const d = tempDir(`strand-cleaner-${name}-`);
  dirs.push(d);
  const log = await PartitionLog.open(d.path, {
    compact: true,
    segmentBytes: 2048,
    minCleanableDirtyRatio: 0.1,
  });
  for (let r = 0; r < 10; r++)
    for (let k = 0; k < 8; k++)
      await log.append(keyedBatch([{ key: `k${k}`, value: `${r}`.repeat(40) }]));
  return { name, log, bound: Number.POSITIVE_INFINITY };
}

const until = async (what: string, ok: () => boolean) => {
  const deadline = Date.now() + 20_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('LogCleaner', () => {
  it('cleans every due log in the background and reports its progress; a corrupt one is left alone', async () => {
    const a = await dirtyLog('a');
    const b = await dirtyLog('b');
    // Corrupt b's first segment: its pass fails, and it is not tried again.
    const first = join(b.log.dir, '00000000000000000000.log');
    const bytes = readFileSync(first);
    bytes[bytes.length - 3]! ^= 0x40;
    writeFileSync(first, bytes);
    const errors: string[] = [];
    const background = new BackgroundWork();
    const cleaner = new LogCleaner({
      dedupeBufferBytes: 1 << 20,
      ioMaxBytesPerSecond: Number.POSITIVE_INFINITY,
      backoffMs: 10,
      background,
      logs: () => [a, b],
      onError: (c) => errors.push(c.name),
    });
    expect(cleaner.progressOf(a).dirtyRatio).toBeGreaterThan(0.5);
    cleaner.start();
    await until('a cleaned', () => cleaner.progressOf(a).lastRunAt !== undefined);
    await until('b failed', () => errors.length > 0);
    cleaner.stop();
    expect(cleaner.progressOf(a)).toMatchObject({ dirtyRatio: 0 });
    expect(cleaner.progressOf(a).cleanedBytes).toBeGreaterThan(0);
    expect(cleaner.cleanedBytes).toBe(cleaner.progressOf(a).cleanedBytes);
    expect(errors).toEqual(['b']);
    expect(cleaner.progressOf(b).error).toMatch(/CRC|crc|corrupt/i);
    background.close();
    await a.log.close();
    await b.log.abandon();
  });
});

describe('IoThrottle', () => {
  it('lets a second of bytes through at once, then waits for the rate', async () => {
    let now = 0;
    const slept: number[] = [];
    const t = new IoThrottle(
      1000,
      () => now,
      async (ms) => {
        slept.push(ms);
        now += ms;
      },
    );
    await t.take(1000);
    expect(slept).toEqual([]);
    await t.take(500);
    expect(slept).toEqual([500]);
    now += 2000; // idle: the bucket refills to one second's worth, no more
    await t.take(1000);
    await t.take(1000);
    expect(slept).toEqual([500, 1000]);
  });
});
