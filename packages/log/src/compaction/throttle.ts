/**
 * Bounds the cleaner's I/O (log.cleaner.io.max.bytes.per.second): bytes read and written
 * are taken from a bucket refilled at `bytesPerSecond`, holding at most one second's worth;
 * a taker waits until its bytes are covered. One throttle is shared by a broker's cleaner.
 */
export class IoThrottle {
  private tokens: number;
  private last: number;

  constructor(
    readonly bytesPerSecond: number,
    private readonly clock: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((r) => setTimeout(r, ms)),
  ) {
    this.tokens = bytesPerSecond;
    this.last = clock();
  }

  async take(bytes: number): Promise<void> {
    if (!Number.isFinite(this.bytesPerSecond)) return;
    this.refill();
    this.tokens -= bytes;
    if (this.tokens >= 0) return;
    await this.sleep((-this.tokens / this.bytesPerSecond) * 1000);
    this.refill();
  }

  private refill(): void {
    const now = this.clock();
    this.tokens = Math.min(
      this.bytesPerSecond,
      this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond,
    );
    this.last = now;
  }
}
