import { percentile } from './rate.js';

/**
 * Reads the brokers' replication trace (`--trace-replication`): where an acks=all batch spent
 * its time between arriving at the leader and being committed, through the follower that
 * committed it last. Pure: lines in, figures out.
 */

export interface LeaderLine {
  kind: 'leader';
  broker: number;
  partition: string;
  end: number;
  received: number;
  appended: number;
  committed: number;
  /** Follower id: [answer carrying the batch left, the fetch showing it has it arrived] (-1: never). */
  followers: Record<string, [number, number]>;
}

export interface FollowerLine {
  kind: 'follower';
  broker: number;
  partition: string;
  to: number;
  got: number;
  appended: number;
}

export type TraceLine = LeaderLine | FollowerLine;

export const STAGES = [
  'leader append',
  'wait for the follower fetch',
  'answer to the follower',
  'follower append',
  'follower fetch back to the leader',
  'watermark moves',
  'arrival to committed',
] as const;
export type Stage = (typeof STAGES)[number];

export interface StageFigures {
  stage: Stage;
  count: number;
  p50: number;
  p99: number;
}

export function parseTrace(text: string): TraceLine[] {
  const out: TraceLine[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as TraceLine);
    } catch {
      // a line cut by a kill: skipped
    }
  }
  return out;
}

/** The first copy by `follower` that reached `end` (lines come in log order per partition). */
function copyOf(copies: FollowerLine[] | undefined, end: number): FollowerLine | undefined {
  if (!copies) return undefined;
  let lo = 0;
  let hi = copies.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (copies[mid]!.to >= end) hi = mid;
    else lo = mid + 1;
  }
  return copies[lo];
}

/** p50/p99 of each stage for the batches that arrived at a leader within [from, to] (wall ms). */
export function breakdown(lines: TraceLine[], from: number, to: number): StageFigures[] {
  const copies = new Map<string, FollowerLine[]>();
  for (const l of lines) {
    if (l.kind !== 'follower') continue;
    const k = `${l.broker}/${l.partition}`;
    const list = copies.get(k);
    if (list) list.push(l);
    else copies.set(k, [l]);
  }
  for (const list of copies.values()) list.sort((a, b) => a.to - b.to || a.got - b.got);
  const samples = new Map<Stage, number[]>(STAGES.map((s) => [s, []]));
  const add = (s: Stage, v: number) => samples.get(s)!.push(v);
  for (const l of lines) {
    if (l.kind !== 'leader' || l.received < from || l.received > to) continue;
    add('leader append', l.appended - l.received);
    add('arrival to committed', l.committed - l.received);
    // The follower whose fetch came back last is the one the watermark waited for.
    let last: { id: string; sent: number; back: number } | undefined;
    for (const [id, [sent, back]] of Object.entries(l.followers))
      if (back >= 0 && (!last || back > last.back)) last = { id, sent, back };
    if (!last) continue;
    add('wait for the follower fetch', last.sent - l.appended);
    add('watermark moves', l.committed - last.back);
    const copy = copyOf(copies.get(`${last.id}/${l.partition}`), l.end);
    if (!copy || copy.got < last.sent) continue;
    add('answer to the follower', copy.got - last.sent);
    add('follower append', copy.appended - copy.got);
    add('follower fetch back to the leader', last.back - copy.appended);
  }
  return STAGES.map((stage) => {
    const v = Float64Array.from(samples.get(stage)!).sort();
    return { stage, count: v.length, p50: percentile(v, 50), p99: percentile(v, 99) };
  });
}
