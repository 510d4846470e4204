import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../batches.test-util.js';
import { PartitionLog } from '../partition-log.js';
import { keyedBatch, type ReadRecord, readAllRecords } from './compaction.test-util.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

const CONFIG = {
  compact: true,
  segmentBytes: 2048,
  indexIntervalBytes: 256,
  minCleanableDirtyRatio: 0,
};
const CLEAN = { bound: Number.POSITIVE_INFINITY, dedupeBufferBytes: 1 << 20 };

class Crash extends Error {}

function copyOf(template: string): string {
  const d = tempDir('strand-swap-crash-');
  dirs.push(d);
  cpSync(template, d.path, { recursive: true });
  return d.path;
}

/** A log of 8 keys updated 12 times (with a tombstone), in several segments, closed. */
async function template(): Promise<string> {
  const d = tempDir('strand-swap-tpl-');
  dirs.push(d);
  const log = await PartitionLog.open(d.path, CONFIG);
  for (let r = 0; r < 12; r++)
    for (let k = 0; k < 8; k++)
      await log.append(
        keyedBatch([
          { key: `k${k}`, value: r === 6 && k === 3 ? null : `k${k}-${r}-${'p'.repeat(50)}` },
        ]),
      );
  await log.close();
  return d.path;
}

const inRange = (rs: ReadRecord[], from: number, to: number) =>
  rs.filter((r) => r.offset >= from && r.offset < to);

describe('reads during the swap of cleaned segments', () => {
  it('a read that reopens the old first file just before its rename leaves no stale descriptor behind', async () => {
    // Regression: the swap forgot the old files' descriptors, then renamed the cleaned file
    // over the first one. A fetch in between reopened the old file under that name, and the
    // new segment was verified (and later read) through that stale descriptor: a RangeError
    // that stopped the log, or the old bytes read against the new index.
    const dir = copyOf(await template());
    const log = await PartitionLog.open(dir, CONFIG);
    const expected = new Map((await readAllRecords(log)).records.map((r) => [r.key, r.value]));
    const report = await log.clean({
      ...CLEAN,
      onStep: async (s) => {
        if (s !== 'rename') return;
        void log.read(log.logStartOffset, 1 << 20).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      },
    });
    expect(report.segments).toBeGreaterThan(0);
    const after = await readAllRecords(log);
    expect(new Map(after.records.map((r) => [r.key, r.value]))).toEqual(expected);
    await log.close();
    const again = await PartitionLog.open(dir, CONFIG);
    expect((await readAllRecords(again)).records).toEqual(after.records);
    await again.close();
  });
});

describe('a crash during the swap of cleaned segments', () => {
  it('at every step leaves each group old or new, never a mix, never a loss', async () => {
    const tpl = await template();
    const before = await (async () => {
      const log = await PartitionLog.open(copyOf(tpl), CONFIG);
      const r = await readAllRecords(log);
      await log.close();
      return r.records;
    })();
    // The clean run to the end, counting its steps.
    const steps: string[] = [];
    const full = await PartitionLog.open(copyOf(tpl), CONFIG);
    const report = await full.clean({
      ...CLEAN,
      onStep: (s) => {
        steps.push(s);
      },
    });
    expect(report.segments).toBeGreaterThan(1);
    const after = (await readAllRecords(full)).records;
    const groups = full.segmentInfo().slice(0, report.segments);
    await full.close();
    expect(after.length).toBeLessThan(before.length);

    for (let k = 0; k < steps.length; k++) {
      const dir = copyOf(tpl);
      const log = await PartitionLog.open(dir, CONFIG);
      let n = 0;
      await expect(
        log.clean({
          ...CLEAN,
          onStep: () => {
            if (n++ === k) throw new Crash(`crash before step ${k} (${steps[k]})`);
          },
        }),
      ).rejects.toThrow(/crash before step/);
      await log.abandon();
      const again = await PartitionLog.open(dir, CONFIG);
      const got = (await readAllRecords(again)).records;
      for (const g of groups) {
        const mine = inRange(got, g.baseOffset, g.nextOffset);
        const old = inRange(before, g.baseOffset, g.nextOffset);
        const cleaned = inRange(after, g.baseOffset, g.nextOffset);
        expect([old, cleaned], `step ${k} (${steps[k]}), group at ${g.baseOffset}`).toContainEqual(
          mine,
        );
      }
      expect(inRange(got, groups.at(-1)!.nextOffset, Infinity)).toEqual(
        inRange(before, groups.at(-1)!.nextOffset, Infinity),
      );
      expect(readdirSync(dir).filter((f) => f.endsWith('.cleaned') || f.endsWith('.swap'))).toEqual(
        [],
      );
      // And cleaning again from there ends where an uninterrupted clean did.
      await again.clean(CLEAN);
      const final = (await readAllRecords(again)).records;
      expect(new Map(final.map((r) => [r.key, r.value]))).toEqual(
        new Map(after.map((r) => [r.key, r.value])),
      );
      await again.close();
    }
  });

  it('a cleaned file cut at any byte before the commit is rolled back', async () => {
    const tpl = await template();
    const ref = await PartitionLog.open(copyOf(tpl), CONFIG);
    const before = await readAllRecords(ref);
    await ref.close();
    // A whole cleaned file to cut: the one an uninterrupted clean writes for the first group.
    const dir0 = copyOf(tpl);
    const log0 = await PartitionLog.open(dir0, CONFIG);
    await expect(
      log0.clean({
        ...CLEAN,
        onStep: (s) => {
          if (s === 'commit') throw new Crash();
        },
      }),
    ).rejects.toBeInstanceOf(Crash);
    await log0.abandon();
    const name = readdirSync(dir0).find((f) => f.endsWith('.log.cleaned'))!;
    const bytes = readFileSync(join(dir0, name));
    for (const cut of [
      0,
      1,
      60,
      61,
      Math.floor(bytes.length / 2),
      bytes.length - 1,
      bytes.length,
    ]) {
      const dir = copyOf(tpl);
      writeFileSync(join(dir, name), bytes.subarray(0, cut));
      const log = await PartitionLog.open(dir, CONFIG);
      expect(await readAllRecords(log)).toEqual(before);
      expect(readdirSync(dir).some((f) => f.endsWith('.cleaned'))).toBe(false);
      await log.close();
    }
  });
});
