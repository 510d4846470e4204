import type { NodeId } from './types.js';

export const ProgressState = {
  Probe: 'probe',
  Replicate: 'replicate',
  Snapshot: 'snapshot',
} as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

/**
 * The leader's view of one follower. `match` is the highest index known to be replicated;
 * `next` the next index to send. Invariant: `match < next`.
 * - Probe: one append at a time until the follower's position is found;
 * - Replicate: stream appends optimistically, at most `maxInflight` unacknowledged;
 * - Snapshot: a snapshot is on its way; wait for it.
 */
export class Progress {
  match = 0;
  state: ProgressState = ProgressState.Probe;
  /** In Probe, an append is outstanding. */
  probeSent = false;
  /** Last indexes of unacknowledged appends (Replicate). */
  inflight: number[] = [];
  pendingSnapshot = 0;
  recentActive = false;
  /** The leader's tick count when this follower last answered (for membership checks). */
  lastActiveTick = Number.NEGATIVE_INFINITY;

  constructor(
    readonly id: NodeId,
    public next: number,
  ) {}

  isPaused(maxInflight: number): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflight.length >= maxInflight;
      default:
        return true;
    }
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
      this.pendingSnapshot = 0;
    } else this.next = this.match + 1;
    this.state = ProgressState.Probe;
    this.probeSent = false;
    this.inflight = [];
  }

  becomeReplicate(): void {
    this.state = ProgressState.Replicate;
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflight = [];
  }

  becomeSnapshot(index: number): void {
    this.state = ProgressState.Snapshot;
    this.pendingSnapshot = index;
    this.inflight = [];
  }

  /** An append up to `last` was sent. */
  sent(last: number): void {
    if (this.state === ProgressState.Replicate) {
      this.next = last + 1;
      this.inflight.push(last);
    } else if (this.state === ProgressState.Probe) this.probeSent = true;
  }

  /** The follower has everything up to `index`; returns whether that was news. */
  maybeUpdate(index: number): boolean {
    this.probeSent = false;
    this.inflight = this.inflight.filter((i) => i > index);
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    return true;
  }

  /** A rejected append at `rejected`; `hint` is where to retry. Returns false if stale. */
  maybeDecrease(rejected: number, hint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.becomeProbe();
    } else if (this.next - 1 !== rejected) return false; // a stale probe's answer
    this.next = Math.max(this.match + 1, Math.min(rejected, hint + 1));
    this.probeSent = false;
    return true;
  }
}
