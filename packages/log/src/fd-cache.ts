import { closeFile, openFile } from './io.js';

interface Slot {
  fd: number;
  pins: number;
}

/**
 * Bounds the number of open data-file descriptors, however many segments exist.
 * Every file access goes through `use(path, fn)`: the fd is pinned while `fn` runs and
 * otherwise sits in an LRU. Descriptors being opened or closed count against the bound too,
 * so at no moment are more than `maxOpen` of them open: an access that finds every slot pinned
 * waits for one to be released. (`fn` must not itself call `use`, or a small bound deadlocks.)
 *
 * Closing an fd loses nothing: Linux's fsync on any later fd of the same inode flushes all
 * of its dirty pages.
 */
export class FdCache {
  private readonly slots = new Map<string, Slot>();
  private readonly opening = new Map<string, Promise<Slot>>();
  private closing = 0;
  private waiters: (() => void)[] = [];
  private peak = 0;

  constructor(readonly maxOpen: number) {
    if (!Number.isInteger(maxOpen) || maxOpen < 1) throw new RangeError('maxOpen must be >= 1');
  }

  /** Descriptors open, being opened or being closed: never more than `maxOpen`. */
  get openCount(): number {
    return this.slots.size + this.opening.size + this.closing;
  }

  /** The largest `openCount` seen (for tests of the bound). */
  get peakOpen(): number {
    return this.peak;
  }

  async use<T>(path: string, fn: (fd: number) => Promise<T>): Promise<T> {
    const slot = await this.acquire(path);
    try {
      return await fn(slot.fd);
    } finally {
      slot.pins -= 1;
      if (slot.pins === 0) this.wake();
    }
  }

  /** Closes the fd of `path` if open (before deleting or renaming the file). */
  async forget(path: string): Promise<void> {
    const pending = this.opening.get(path);
    if (pending) await pending.catch(() => undefined);
    const slot = this.slots.get(path);
    if (!slot) return;
    this.slots.delete(path);
    await this.close(slot);
  }

  async closeAll(): Promise<void> {
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(slots.map((s) => this.close(s)));
  }

  private async acquire(path: string): Promise<Slot> {
    for (;;) {
      const existing = this.slots.get(path);
      if (existing) {
        // Map order is the LRU order: move to the back.
        this.slots.delete(path);
        this.slots.set(path, existing);
        existing.pins += 1;
        return existing;
      }
      const pending = this.opening.get(path);
      if (pending) {
        await pending.catch(() => undefined);
        continue;
      }
      if (this.openCount < this.maxOpen) return this.open(path);
      // Full: start closing the least recently used idle fd, or wait for one to go idle.
      const idle = [...this.slots].find(([, s]) => s.pins === 0);
      const released = new Promise<void>((resolve) => this.waiters.push(resolve));
      if (idle) {
        this.slots.delete(idle[0]);
        void this.close(idle[1]);
      }
      await released;
    }
  }

  /** Opens `path`, already counted against the bound; the caller gets it pinned. */
  private open(path: string): Promise<Slot> {
    const opened = openFile(path, 'r+').then(
      (fd) => {
        // One synchronous step from "opening" to "pinned in the cache": nothing can evict it
        // in between, and the count never drops and rises again.
        const slot = { fd, pins: 1 };
        this.opening.delete(path);
        this.slots.set(path, slot);
        return slot;
      },
      (err: unknown) => {
        this.opening.delete(path);
        this.wake();
        throw err;
      },
    );
    this.opening.set(path, opened);
    this.peak = Math.max(this.peak, this.openCount);
    return opened;
  }

  private async close(slot: Slot): Promise<void> {
    this.closing += 1;
    try {
      await closeFile(slot.fd);
    } catch {
      // The descriptor is gone either way.
    } finally {
      this.closing -= 1;
      this.wake();
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
