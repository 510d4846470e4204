import { appendFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { Offsets } from '@strand/wire';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes here. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

/** How a partition is named in the trace. */
export const partitionName = (h: { topic: string; partition: number }): string =>
  `${h.topic}-${h.partition}`;

/** The offset after the last of a buffer of whole batches (-1 for none), from their headers. */
export function endOfBatches(buf: Buffer): number {
  let end = -1;
  for (let pos = 0; pos + Offsets.recordCount + 4 <= buf.length; ) {
    end = Number(buf.readBigInt64BE(pos)) + buf.readInt32BE(pos + Offsets.lastOffsetDelta) + 1;
    pos += 12 + buf.readInt32BE(pos + Offsets.batchLength);
  }
  return end;
}

/** A batch a leader appended, until the high watermark passes it. */
interface Pending {
  end: number;
  received: number;
  appended: number;
  /** Per follower: when a fetch answer carrying it left, when a fetch showed the follower has it. */
  sent: Map<number, number>;
  back: Map<number, number>;
}

/** Batches kept per partition while the watermark does not move (a follower is away). */
const MAX_PENDING = 10_000;

/**
 * Diagnostics, off unless `--trace-replication FILE`: where an acks=all produce waits. For every
 * batch a leader appends, one JSON line once the high watermark passes it — when it arrived,
 * was appended, left for each follower, came back from each (the follower's next fetch) and
 * was committed; for every answer a follower copies, when it arrived and was appended. Times are
 * wall-clock ms (comparable across the brokers of one machine). Lines are appended about once a
 * second, and the rest when the broker stops. `pnpm bench replication` reads them.
 */
export class ReplicationTrace {
  private lines: string[] = [];
  private readonly pending = new Map<string, Pending[]>();
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly brokerId: number,
  ) {
    this.timer = setInterval(() => this.flush(), 1000);
    this.timer.unref();
  }

  /** The leader appended a produce request's batches, ending at `end`. */
  appended(partition: string, end: number, received: number): void {
    let list = this.pending.get(partition);
    if (!list) {
      list = [];
      this.pending.set(partition, list);
    }
    if (list.length >= MAX_PENDING) list.shift();
    list.push({ end, received, appended: wallMs(), sent: new Map(), back: new Map() });
  }

  /** An answer to `follower`'s fetch carries everything below `upTo`. */
  sent(partition: string, follower: number, upTo: number): void {
    const now = wallMs();
    for (const p of this.pending.get(partition) ?? []) {
      if (p.end > upTo) break;
      if (!p.sent.has(follower)) p.sent.set(follower, now);
    }
  }

  /** `follower` fetched from `offset`: it has everything below. */
  fetched(partition: string, follower: number, offset: number): void {
    const now = wallMs();
    for (const p of this.pending.get(partition) ?? []) {
      if (p.end > offset) break;
      if (!p.back.has(follower)) p.back.set(follower, now);
    }
  }

  /** The leader's high watermark moved to `hw`. */
  committed(partition: string, hw: number): void {
    const list = this.pending.get(partition);
    if (!list) return;
    const now = wallMs();
    let n = 0;
    for (; n < list.length && list[n]!.end <= hw; n++) {
      const p = list[n]!;
      const followers: Record<number, [number, number]> = {};
      for (const [f, at] of p.sent) followers[f] = [at, p.back.get(f) ?? -1];
      this.lines.push(
        JSON.stringify({
          kind: 'leader',
          broker: this.brokerId,
          partition,
          end: p.end,
          received: p.received,
          appended: p.appended,
          committed: now,
          followers,
        }),
      );
    }
    if (n > 0) list.splice(0, n);
  }

  /** A follower got an answer at `got` and appended it, ending at `to`. */
  copied(partition: string, to: number, got: number): void {
    this.lines.push(
      JSON.stringify({
        kind: 'follower',
        broker: this.brokerId,
        partition,
        to,
        got,
        appended: wallMs(),
      }),
    );
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    const text = `${this.lines.join('\n')}\n`;
    this.lines = [];
    this.writing = this.writing.then(() => appendFile(this.file, text)).catch(() => undefined);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.writing;
    if (this.lines.length > 0) appendFileSync(this.file, `${this.lines.join('\n')}\n`);
    this.lines = [];
  }
}
