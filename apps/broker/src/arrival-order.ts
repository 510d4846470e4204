/**
 * Keeps callers of a key in the order they came when some of them have to wait: once one
 * caller of a key is waiting, those that come after it are answered after it, in order, even
 * when they would not have had to wait themselves. The broker looks up a partition's leader
 * this way before appending, so requests to a partition that is still opening (a topic just
 * made) are appended in the order they arrived, as Kafka appends a connection's requests.
 */
export class ArrivalOrder<K> {
  private readonly tails = new Map<K, Promise<unknown>>();

  /**
   * `now()` when no caller of `key` is waiting and it has an answer; otherwise, after every
   * earlier waiting caller of `key` is answered, `now()` again or else `wait()`.
   */
  async run<T>(key: K, now: () => T | undefined, wait: () => Promise<T>): Promise<T> {
    const ahead = this.tails.get(key);
    if (ahead === undefined) {
      const value = now();
      if (value !== undefined) return value;
    }
    // A caller ahead that failed holds up nobody: its error is its own.
    const turn = (ahead ?? Promise.resolve()).catch(() => undefined).then(() => now() ?? wait());
    this.tails.set(key, turn);
    try {
      return await turn;
    } finally {
      if (this.tails.get(key) === turn) this.tails.delete(key);
    }
  }

  /** Keys with callers waiting (none once every caller is answered). */
  get waiting(): number {
    return this.tails.size;
  }
}
