import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isNoSpaceError, StorageFullError } from '@strand/wire';

export interface DiskGuardOptions {
  /** Bytes held in a reserve file, given back to the filesystem when it fills (0: none). */
  reserveBytes: number;
  /** How often free space is checked while full. */
  checkMs?: number;
  log?: (line: string) => void;
}

const RESERVE = 'disk-reserve';
const CHUNK = 1024 * 1024;
const MiB = 1024 * 1024;

/**
 * A process's defence against a full disk. The guard turns `full` when free space drops below
 * `reserveBytes` (it looks every `checkMs`) or a write fails for lack of space (`noticed`);
 * while full the process refuses writes that add data (`check` throws STORAGE_FULL), so what
 * is left goes to the small writes that keep it running or free space: checkpoints, metadata,
 * a topic's deletion, RocksDB's compactions, a restart's new manifest. For those it keeps a
 * reserve file of `reserveBytes`, given back to the filesystem when one of them finds no room
 * (`essential`). Once there is room for the reserve twice over it writes the reserve again and
 * is no longer full: recovery needs no restart.
 */
export class DiskGuard {
  private isFull = false;
  private timer: NodeJS.Timeout | undefined;
  private releasing: Promise<void> | undefined;
  private checking: Promise<void> | undefined;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly opts: Required<Omit<DiskGuardOptions, 'log'>> & DiskGuardOptions,
  ) {}

  /** Creates the reserve if missing; a disk too full for it starts out full. */
  static async open(dir: string, options: DiskGuardOptions): Promise<DiskGuard> {
    const guard = new DiskGuard(dir, { checkMs: 1000, ...options });
    await fsp.mkdir(dir, { recursive: true });
    if (!(await guard.tryWriteReserve())) guard.enterFull('no room for its reserve');
    guard.timer = setInterval(() => void guard.recheck(), guard.opts.checkMs);
    guard.timer.unref();
    if (!guard.isFull) await guard.recheck();
    return guard;
  }

  get full(): boolean {
    return this.isFull;
  }

  /** Throws STORAGE_FULL while the disk is full: for writes that add data. */
  check(what: string): void {
    if (this.isFull)
      throw new StorageFullError(`${what}: the disk is full; writes resume once space is freed`);
  }

  /**
   * Looks at a failed write's error: one that says the disk is full makes the guard full and
   * starts giving the reserve back. Returns whether it was that.
   */
  noticed(err: unknown): boolean {
    if (!isNoSpaceError(err)) return false;
    this.enterFull((err as Error).message);
    this.releasing ??= fsp.rm(join(this.dir, RESERVE), { force: true }).catch(() => undefined);
    return true;
  }

  /**
   * Runs a small write that must go through even on a full disk (a checkpoint, metadata, a
   * new manifest): if it fails for lack of space, the reserve is given back and it runs once
   * more. Any other failure, or a second one, is thrown.
   */
  async essential<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!this.noticed(err)) throw err;
      await this.releasing;
      return fn();
    }
  }

  /** Free bytes for this process (what statfs says an unprivileged writer may use). */
  async freeBytes(): Promise<number> {
    const s = await fsp.statfs(this.dir);
    return s.bavail * s.bsize;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private enterFull(why: string): void {
    if (this.isFull || this.closed) return;
    this.isFull = true;
    this.opts.log?.(`disk full in ${this.dir} (${why}): refusing new data until space is freed`);
  }

  /** Full below the reserve's size of free space; no longer full at twice that, reserve back. */
  private recheck(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.checking ??= (async () => {
      const free = await this.freeBytes().catch(() => 0);
      if (!this.isFull) {
        if (free < this.opts.reserveBytes) this.enterFull(`${free} bytes free`);
        return;
      }
      if (free < Math.max(2 * this.opts.reserveBytes, MiB)) return;
      if (!(await this.tryWriteReserve().catch(() => false))) return;
      this.isFull = false;
      this.releasing = undefined;
      this.opts.log?.(`disk in ${this.dir} has room again (${free} bytes free): writes resume`);
    })().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  /**
   * Writes the reserve in full; on a full disk leaves none and says so. Not synced: written
   * blocks count as used the moment they are written (the filesystem reserves them then).
   */
  private async tryWriteReserve(): Promise<boolean> {
    const path = join(this.dir, RESERVE);
    const size = this.opts.reserveBytes;
    if (size === 0) return true;
    const existing = await fsp.stat(path).catch(() => undefined);
    if (existing?.size === size) return true;
    const tmp = `${path}.tmp`;
    const file = await fsp.open(tmp, 'w');
    try {
      const zeros = Buffer.alloc(Math.min(CHUNK, size));
      for (let at = 0; at < size; at += zeros.length)
        await file.write(zeros, 0, Math.min(zeros.length, size - at), at);
      await file.close();
      await fsp.rename(tmp, path);
      return true;
    } catch (err) {
      await file.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true });
      if (isNoSpaceError(err)) return false;
      throw err;
    }
  }
}
