import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { mountSmallFilesystem } from '@strand/testkit';
import { ErrorCode, StorageFullError } from '@strand/wire';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskGuard } from './disk-guard.js';

const MiB = 1024 * 1024;
const mounted = mountSmallFilesystem(8 * MiB);
const fs = typeof mounted === 'string' ? undefined : mounted;
if (typeof mounted === 'string') console.warn(`disk guard tests do not run: ${mounted}`);
afterAll(() => fs?.cleanup());

const until = async (cond: () => boolean) => {
  for (const end = Date.now() + 10_000; !cond() && Date.now() < end; )
    await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

describe.skipIf(!fs)('DiskGuard', () => {
  it('keeps a reserve, turns full when free space drops below it, and recovers when space returns', async () => {
    const dir = join(fs!.path, 'a');
    const lines: string[] = [];
    const guard = await DiskGuard.open(dir, {
      reserveBytes: MiB,
      checkMs: 10,
      log: (l) => lines.push(l),
    });
    expect(statSync(join(dir, 'disk-reserve')).size).toBe(MiB);
    expect(guard.full).toBe(false);
    expect(() => guard.check('x')).not.toThrow();
    fs!.fill();
    await until(() => guard.full);
    const err = (() => {
      try {
        guard.check('append');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StorageFullError);
    expect((err as StorageFullError).code).toBe(ErrorCode.StorageFull);
    // The reserve is still there until an essential write needs it.
    expect(existsSync(join(dir, 'disk-reserve'))).toBe(true);
    let tries = 0;
    const wrote = await guard.essential(async () => {
      tries += 1;
      if (tries === 1) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
      return 'written';
    });
    expect([wrote, tries]).toEqual(['written', 2]);
    expect(existsSync(join(dir, 'disk-reserve'))).toBe(false);
    // Other failures are not retried.
    await expect(
      guard.essential(async () => {
        throw new Error('EIO');
      }),
    ).rejects.toThrow('EIO');
    fs!.unfill();
    await until(() => !guard.full);
    expect(statSync(join(dir, 'disk-reserve')).size).toBe(MiB);
    expect(lines.join('\n')).toMatch(/disk full[\s\S]*has room again/);
    guard.close();
  });

  it('starts full on a disk with no room for its reserve', async () => {
    fs!.fill();
    const guard = await DiskGuard.open(join(fs!.path, 'b'), { reserveBytes: MiB, checkMs: 10 });
    expect(guard.full).toBe(true);
    fs!.unfill();
    await until(() => !guard.full);
    guard.close();
  });
});
