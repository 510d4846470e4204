import { closeFile, openFile } from './io.js';

interface Slot {
  fd: number;
  pins: number;
}

/**
 * Bounds the number of open data-file descriptors, however many segments exist.
 * Every file access goes through `use(path, fn)`: the fd is pinned while `fn` runs and
 * otherwise sits in an LRU; when more than `maxOpen` fds are open, the least recently used
 * unpinned ones are closed. Pinned fds can briefly push the count above the bound, by at
 * most the number of concurrent operations.
 *
 * Closing an fd loses nothing: Linux's fsync on any later fd of the same inode flushes all
 * of its dirty pages.
 */
export class FdCache {
  private readonly slots = new Map<string, Slot>();
  private readonly opening = new Map<string, Promise<Slot>>();
  private peak = 0;

  constructor(readonly maxOpen: number) {
    if (!Number.isInteger(maxOpen) || maxOpen < 1) throw new RangeError('maxOpen must be >= 1');
  }

  get openCount(): number {
    return this.slots.size;
  }

  /** The largest number of fds that were open at once (for tests of the bound). */
  get peakOpen(): number {
    return this.peak;
  }

  async use<T>(path: string, fn: (fd: number) => Promise<T>): Promise<T> {
    const slot = await this.acquire(path);
    try {
      return await fn(slot.fd);
    } finally {
      slot.pins -= 1;
      await this.evict(0);
    }
  }

  /** Closes the fd of `path` if open (before deleting or renaming the file). */
  async forget(path: string): Promise<void> {
    const pending = this.opening.get(path);
    if (pending) await pending.catch(() => undefined);
    const slot = this.slots.get(path);
    if (!slot) return;
    this.slots.delete(path);
    await closeFile(slot.fd);
  }

  async closeAll(): Promise<void> {
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(slots.map((s) => closeFile(s.fd)));
  }

  private async acquire(path: string): Promise<Slot> {
    const existing = this.slots.get(path);
    if (existing) {
      // Map order is the LRU order: move to the back.
      this.slots.delete(path);
      this.slots.set(path, existing);
      existing.pins += 1;
      return existing;
    }
    let pending = this.opening.get(path);
    if (!pending) {
      pending = (async () => {
        // Make room for this open and every other one in flight.
        await this.evict(1 + this.opening.size);
        return { fd: await openFile(path, 'r+'), pins: 0 };
      })();
      this.opening.set(path, pending);
      pending.finally(() => this.opening.delete(path)).catch(() => undefined);
    }
    const slot = await pending;
    // Pin before publishing so an eviction running in between can never close it.
    slot.pins += 1;
    if (!this.slots.has(path)) {
      this.slots.set(path, slot);
      this.peak = Math.max(this.peak, this.slots.size);
    }
    return slot;
  }

  /** Closes least recently used unpinned fds until `room` more fit under the bound. */
  private async evict(room: number): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [path, slot] of this.slots) {
      if (this.slots.size + room <= this.maxOpen) break;
      if (slot.pins > 0) continue;
      this.slots.delete(path);
      closing.push(closeFile(slot.fd).catch(() => undefined));
    }
    await Promise.all(closing);
  }
}
