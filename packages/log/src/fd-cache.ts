import { closeFile, openFile } from './io.js';

interface Slot {
  path: string;
  fd: number;
  pins: number;
  /** Forgotten while pinned: closed when the last user lets go, never handed out again. */
  retired: boolean;
}

interface Waiter {
  path: string;
  resolve: (slot: Slot) => void;
  reject: (err: unknown) => void;
}

/**
 * Bounds the number of open data-file descriptors, however many segments exist.
 * Every file access goes through `use(path, fn)`: the fd is pinned while `fn` runs and
 * otherwise sits in an LRU of idle descriptors. Descriptors being opened or closed count
 * against the bound too, so at no moment are more than `maxOpen` of them open.
 *
 * When every place is taken, accesses queue in arrival order. Each freed place goes to the
 * head of the queue alone, and the least recently used idle descriptor is closed for it; no
 * access ever scans the cache or wakes another for nothing, so thousands of partitions
 * sharing a small bound cost O(1) per access. (`fn` must not itself call `use`, or a small
 * bound deadlocks.)
 *
 * Closing an fd loses nothing: Linux's fsync on any later fd of the same inode flushes all
 * of its dirty pages.
 */
export class FdCache {
  private readonly slots = new Map<string, Slot>();
  /** Open, unpinned descriptors, least recently used first (Map order). */
  private readonly idle = new Map<string, Slot>();
  private readonly opening = new Map<string, Promise<Slot>>();
  private readonly waiters: Waiter[] = [];
  /** Pinned descriptors of forgotten paths, and descriptors being closed. */
  private retired = 0;
  private closing = 0;
  /** Closes started to make room for queued accesses. */
  private evicting = 0;
  private peak = 0;

  constructor(readonly maxOpen: number) {
    if (!Number.isInteger(maxOpen) || maxOpen < 1) throw new RangeError('maxOpen must be >= 1');
  }

  /** Descriptors open, being opened or being closed: never more than `maxOpen`. */
  get openCount(): number {
    return this.slots.size + this.opening.size + this.retired + this.closing;
  }

  /** The largest `openCount` seen (for tests of the bound). */
  get peakOpen(): number {
    return this.peak;
  }

  /** Accesses waiting for a place. */
  get queued(): number {
    return this.waiters.length;
  }

  async use<T>(path: string, fn: (fd: number) => Promise<T>): Promise<T> {
    const slot = await this.acquire(path);
    try {
      return await fn(slot.fd);
    } finally {
      this.release(slot);
    }
  }

  /** Closes the fd of `path` if open (before deleting or renaming the file). */
  async forget(path: string): Promise<void> {
    const pending = this.opening.get(path);
    if (pending) await pending.catch(() => undefined);
    const slot = this.slots.get(path);
    if (!slot) return;
    this.slots.delete(path);
    this.idle.delete(path);
    if (slot.pins > 0) {
      // Someone is reading it right now: it closes when they are done.
      slot.retired = true;
      this.retired += 1;
      return;
    }
    await this.close(slot);
  }

  async closeAll(): Promise<void> {
    const slots = [...this.idle.values()];
    for (const s of slots) {
      this.slots.delete(s.path);
      this.idle.delete(s.path);
    }
    // Pinned ones are still in use; they close as they are released.
    for (const s of [...this.slots.values()]) {
      this.slots.delete(s.path);
      s.retired = true;
      this.retired += 1;
    }
    await Promise.all(slots.map((s) => this.close(s)));
  }

  private acquire(path: string): Promise<Slot> {
    const existing = this.slots.get(path);
    if (existing) return Promise.resolve(this.pin(existing));
    const pending = this.opening.get(path);
    if (pending) return this.share(pending, path);
    if (this.waiters.length === 0 && this.openCount < this.maxOpen) return this.open(path);
    return new Promise<Slot>((resolve, reject) => {
      this.waiters.push({ path, resolve, reject });
      this.pump();
    });
  }

  /** Serves queued accesses in order while places are free, making room when none is. */
  private pump(): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      const existing = this.slots.get(w.path);
      const pending = this.opening.get(w.path);
      if (existing) {
        this.waiters.shift();
        w.resolve(this.pin(existing));
      } else if (pending) {
        this.waiters.shift();
        this.share(pending, w.path).then(w.resolve, w.reject);
      } else if (this.openCount < this.maxOpen) {
        this.waiters.shift();
        this.open(w.path).then(w.resolve, w.reject);
      } else if (this.evicting < this.waiters.length && this.idle.size > 0) {
        this.evict();
      } else return;
    }
  }

  private pin(slot: Slot): Slot {
    slot.pins += 1;
    this.idle.delete(slot.path);
    return slot;
  }

  private release(slot: Slot): void {
    slot.pins -= 1;
    if (slot.pins > 0) return;
    if (slot.retired) {
      this.retired -= 1;
      void this.close(slot);
      return;
    }
    this.idle.set(slot.path, slot); // the back of the LRU
    if (this.waiters.length > 0) this.pump();
  }

  /** Another access is opening `path`: use its descriptor once it is open. */
  private async share(pending: Promise<Slot>, path: string): Promise<Slot> {
    const slot = await pending;
    // The opener holds its pin until this continuation has run, so the slot is still live.
    return slot.retired ? this.acquire(path) : this.pin(slot);
  }

  /** Opens `path`, already counted against the bound; the caller gets it pinned. */
  private open(path: string): Promise<Slot> {
    const opened = openFile(path, 'r+').then(
      (fd) => {
        // One synchronous step from "opening" to "pinned in the cache": nothing can evict it
        // in between, and the count never drops and rises again.
        const slot: Slot = { path, fd, pins: 1, retired: false };
        this.opening.delete(path);
        this.slots.set(path, slot);
        return slot;
      },
      (err: unknown) => {
        this.opening.delete(path);
        this.pump();
        throw err;
      },
    );
    this.opening.set(path, opened);
    this.peak = Math.max(this.peak, this.openCount);
    return opened;
  }

  /** Closes the least recently used idle descriptor to make room for the queue's head. */
  private evict(): void {
    const [path, slot] = this.idle.entries().next().value as [string, Slot];
    this.idle.delete(path);
    this.slots.delete(path);
    this.evicting += 1;
    void this.close(slot, true);
  }

  private async close(slot: Slot, eviction = false): Promise<void> {
    this.closing += 1;
    try {
      await closeFile(slot.fd);
    } catch {
      // The descriptor is gone either way.
    } finally {
      this.closing -= 1;
      if (eviction) this.evicting -= 1;
      this.pump();
    }
  }
}
