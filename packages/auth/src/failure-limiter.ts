/**
 * Failed authentications per connection: past `maxFailures` within `windowMs`, the next
 * attempts on that connection are refused without being checked until the window has passed
 * (a password cannot be guessed at the speed of the network). The map is bounded: the oldest
 * entries go first.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly opts: { maxFailures: number; windowMs: number; maxEntries?: number } = {
      maxFailures: 5,
      windowMs: 60_000,
    },
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `connection` may try again now. */
  allowed(connection: string): boolean {
    const f = this.failures.get(connection);
    if (!f) return true;
    if (this.now() - f.since >= this.opts.windowMs) {
      this.failures.delete(connection);
      return true;
    }
    return f.count < this.opts.maxFailures;
  }

  failed(connection: string): void {
    const now = this.now();
    const f = this.failures.get(connection);
    if (f && now - f.since < this.opts.windowMs) f.count += 1;
    else {
      this.failures.delete(connection);
      if (this.failures.size >= (this.opts.maxEntries ?? 10_000)) {
        const oldest = this.failures.keys().next().value;
        if (oldest !== undefined) this.failures.delete(oldest);
      }
      this.failures.set(connection, { count: 1, since: now });
    }
  }

  /** The connection closed: its count goes. */
  forget(connection: string): void {
    this.failures.delete(connection);
  }
}
