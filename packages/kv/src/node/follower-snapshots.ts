import type { Message, Snapshot, SnapshotMetadata } from '../raft/types.js';
import type { SnapshotView } from '../store/snapshot-view.js';

/** A built snapshot is kept this long for the resends of one transfer (it is the whole store). */
const KEEP_MS = 60_000;

/**
 * After a snapshot was sent to a follower, none goes to it again while the transport is still
 * sending it, nor for this long after, unless the follower answers that it has installed it:
 * the core asks again on every heartbeat answer until then, and another one (the same, or a
 * newer one if the leader compacted meanwhile) would only queue the whole store again behind
 * the first. One lost on the way (its stream broke) goes again soon after.
 */
const RESEND_AFTER_MS = 3_000;

type SnapRequest = Message & { snapshot: Snapshot };

/** The snapshot is at or past the point the core offered: what the follower needs. */
const covers = (s: Snapshot, m: SnapRequest) => s.metadata.index >= m.snapshot.metadata.index;

export interface SnapshotSource {
  /** The state as of now, with the metadata of that point, or undefined if none can be taken. */
  capture(): { metadata: SnapshotMetadata; view: SnapshotView } | undefined;
  send(m: Message): void;
  /** The transport still has messages for `to` queued (a snapshot being sent takes seconds). */
  sending(to: number): boolean;
  /** A snapshot was built: its size, and how long it took from capture to bytes. */
  built?(bytes: number, seconds: number): void;
  /** The clock (wall time in the node; the tests pass their own). */
  now(): number;
}

/**
 * Snapshots for followers behind the compacted log. A node's own snapshot holds no data (its
 * rows are the snapshot), so one for a follower is built when the core asks for it, from the
 * state machine at its applied index (committed, at or past the point the core offered), and
 * serialized a slice at a time: building one of a large store in one step stalled the leader
 * past its followers' election timeout (a new member's catch-up at 85 MiB ran through three
 * leaders, each building it again). While one is being built, the followers that ask wait for
 * it; once built, it serves every resend that it still covers.
 */
export class FollowerSnapshots {
  private built: Snapshot | undefined;
  private building: Promise<void> | undefined;
  /** Followers waiting for the snapshot being built: the core's last request for each. */
  private readonly waiting = new Map<number, SnapRequest>();
  /** What was last sent to each follower: its index, and until when none goes again. */
  private readonly sent = new Map<number, { index: number; until: number }>();

  constructor(private readonly source: SnapshotSource) {}

  /** The core's request to send a snapshot (one whose data the node's rows hold) to `m.to`. */
  request(m: SnapRequest): void {
    const last = this.sent.get(m.to);
    if (last && (this.source.now() < last.until || this.source.sending(m.to))) return;
    const built = this.built;
    if (built && covers(built, m)) {
      this.deliver(m, built);
      return;
    }
    this.waiting.set(m.to, m);
    this.building ??= this.buildWhileAsked()
      .catch(() => undefined) // the core asks again, and is answered then
      .finally(() => {
        this.building = undefined;
      });
  }

  /** A follower's answer: at or past the snapshot sent to it, it has installed it. */
  answered(follower: number, index: number): void {
    const last = this.sent.get(follower);
    if (last && index >= last.index) this.sent.delete(follower);
  }

  private async buildWhileAsked(): Promise<void> {
    try {
      // Again if one asked meanwhile for a newer point than the one built (compacted since).
      while (this.waiting.size > 0) {
        const captured = this.source.capture();
        if (!captured) return;
        const started = this.source.now();
        const data = await captured.view.serialize();
        this.source.built?.(data.length, (this.source.now() - started) / 1000);
        const built = this.keep({ metadata: captured.metadata, data });
        for (const [to, m] of this.waiting) {
          if (!covers(built, m)) continue;
          this.waiting.delete(to);
          this.deliver(m, built);
        }
      }
    } finally {
      // Not built (no point to take, or it failed): the core asks again.
      this.waiting.clear();
    }
  }

  private keep(snapshot: Snapshot): Snapshot {
    this.built = snapshot;
    setTimeout(() => {
      if (this.built === snapshot) this.built = undefined;
    }, KEEP_MS).unref();
    return snapshot;
  }

  private deliver(m: Message, snapshot: Snapshot): void {
    const until = this.source.now() + RESEND_AFTER_MS;
    this.sent.set(m.to, { index: snapshot.metadata.index, until });
    this.source.send({ ...m, snapshot });
  }
}
