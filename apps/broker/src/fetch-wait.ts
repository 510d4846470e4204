/**
 * How long a follower's fetch whose only news is a higher watermark waits for records to
 * carry it. The watermark moves when a follower's fetch shows it has a batch; answered at once,
 * that news sends the other followers round a fetch, and a batch arriving meanwhile waits for
 * them to come back. A short hold lets the news travel with the next batch; it costs a
 * follower's readers at most this much staleness.
 */
export const WATERMARK_NEWS_HOLD_MS = 5;

export interface FetchWaitState {
  now: number;
  /** When the fetch's `max_wait_ms` runs out. */
  deadline: number;
  /** An error to report, or `min_bytes` of records: answer now. */
  ready: boolean;
  /** When the fetch first had a watermark newer than the fetcher knows (undefined: not yet). */
  newsSince: number | undefined;
}

export type FetchWaitStep = { answer: true } | { answer: false; waitMs: number };

/** Whether a long-polled fetch answers now, or how long it waits for more before looking again. */
export function nextStep(s: FetchWaitState): FetchWaitStep {
  const left = s.deadline - s.now;
  if (s.ready || left <= 0) return { answer: true };
  if (s.newsSince === undefined) return { answer: false, waitMs: left };
  const holdLeft = s.newsSince + WATERMARK_NEWS_HOLD_MS - s.now;
  if (holdLeft <= 0) return { answer: true };
  return { answer: false, waitMs: Math.min(left, holdLeft) };
}
