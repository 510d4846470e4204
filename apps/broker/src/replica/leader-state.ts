/**
 * A leader's view of its followers: how far each has copied the log and when it last caught
 * up. From it: the high watermark (the smallest log end offset in the ISR, never moving back)
 * and which followers should leave or join the ISR. Pure: time is passed in.
 *
 * Invariant: `highWatermark <= leaderEnd`, and every ISR member has copied up to it.
 */
export class LeaderState {
  private readonly progress = new Map<number, { end: number; caughtUpAt: number }>();
  highWatermark: number;

  constructor(
    readonly brokerId: number,
    startHighWatermark: number,
    followers: readonly number[],
    now: number,
  ) {
    this.highWatermark = startHighWatermark;
    // Followers get a full lag window to show up before they can be dropped.
    for (const f of followers) this.progress.set(f, { end: -1, caughtUpAt: now });
  }

  /** A follower fetched from `offset`: it has everything below it. */
  followerFetched(id: number, offset: number, leaderEnd: number, now: number): void {
    const p = this.progress.get(id) ?? { end: -1, caughtUpAt: now };
    p.end = offset;
    if (offset >= leaderEnd) p.caughtUpAt = now;
    this.progress.set(id, p);
  }

  followerEnd(id: number): number {
    return this.progress.get(id)?.end ?? -1;
  }

  /** Recomputes the high watermark; returns true when it moved. */
  advance(isr: readonly number[], leaderEnd: number): boolean {
    let hw = leaderEnd;
    for (const b of isr) {
      if (b === this.brokerId) continue;
      hw = Math.min(hw, Math.max(0, this.progress.get(b)?.end ?? 0));
    }
    if (hw <= this.highWatermark) return false;
    this.highWatermark = hw;
    return true;
  }

  /** ISR members (other than the leader) that have not caught up within `lagMs`. */
  laggards(isr: readonly number[], now: number, lagMs: number): number[] {
    return isr.filter((b) => {
      if (b === this.brokerId) return false;
      const p = this.progress.get(b);
      return !p || now - p.caughtUpAt > lagMs;
    });
  }

  /** Whether replica `id`, outside the ISR, has caught up to the high watermark (may join). */
  mayJoin(id: number, isr: readonly number[]): boolean {
    return (
      id !== this.brokerId &&
      !isr.includes(id) &&
      (this.progress.get(id)?.end ?? -1) >= this.highWatermark
    );
  }
}
