/**
 * A leader's view of its followers: how far each has copied the log and when it last caught
 * up. From it: the high watermark (the smallest log end offset in the ISR, never moving back)
 * and which followers should leave or join the ISR. Pure: time is passed in.
 *
 * Invariant: `highWatermark <= leaderEnd`, and every ISR member has copied up to it.
 */
export class LeaderState {
  private readonly progress = new Map<number, { end: number; caughtUpAt: number }>();
  /**
   * Replicas this leader asked the controller to add to the ISR, until it learns an ISR newer
   * than the one it asked at: the controller may count them in already (its answer lost as it
   * died) and could elect one, so the high watermark waits for them too (Kafka's "maximal ISR").
   */
  private joining: { ids: number[]; partitionEpoch: number } | undefined;
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

  /** The leader asks, at partition epoch `partitionEpoch`, that `ids` join the ISR. */
  askedToJoin(ids: readonly number[], partitionEpoch: number): void {
    if (ids.length === 0) return;
    const before = this.joining;
    this.joining = {
      ids: [...new Set([...(before?.ids ?? []), ...ids])],
      partitionEpoch: Math.max(before?.partitionEpoch ?? partitionEpoch, partitionEpoch),
    };
  }

  /** The ISR at `partitionEpoch` is known: every join asked before it is settled, either way. */
  isrKnown(partitionEpoch: number): void {
    if (this.joining && partitionEpoch > this.joining.partitionEpoch) this.joining = undefined;
  }

  /**
   * Replicas the controller cannot count in the ISR (fenced or shutting down: it refuses their
   * joins and takes them out of every ISR) stop holding the watermark back as askers. Without
   * this a join refused for a broker in controlled shutdown held acks=all produces for the lag
   * time.
   */
  forgetJoins(ineligible: (id: number) => boolean): void {
    if (!this.joining) return;
    const ids = this.joining.ids.filter((b) => !ineligible(b));
    this.joining = ids.length > 0 ? { ...this.joining, ids } : undefined;
  }

  /** The ISR as the controller may have it: `isr` and the replicas asked to join it. */
  private maximal(isr: readonly number[]): readonly number[] {
    const joining = this.joining?.ids.filter((b) => !isr.includes(b)) ?? [];
    return joining.length === 0 ? isr : [...isr, ...joining];
  }

  /** Recomputes the high watermark; returns true when it moved. */
  advance(isr: readonly number[], leaderEnd: number): boolean {
    let hw = leaderEnd;
    for (const b of this.maximal(isr)) {
      if (b === this.brokerId) continue;
      hw = Math.min(hw, Math.max(0, this.progress.get(b)?.end ?? 0));
    }
    if (hw <= this.highWatermark) return false;
    this.highWatermark = hw;
    return true;
  }

  /**
   * ISR members (other than the leader) that have not caught up within `lagMs`, replicas asked
   * to join included (a dead one must not hold the watermark back for good).
   */
  laggards(isr: readonly number[], now: number, lagMs: number): number[] {
    return this.maximal(isr).filter((b) => {
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
