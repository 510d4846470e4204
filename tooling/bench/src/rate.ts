/**
 * Pure helpers for the topic benchmark: percentiles, pacing at a fixed rate, and the paced
 * latency run built on them.
 */

/** The `p`-th percentile (0..100) of an ascending array, nearest-rank; 0 for an empty one. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? 0;
}

/** How many sends are due `elapsedMs` into a run at `ratePerSec`, capped at `total`. */
export function dueCount(ratePerSec: number, elapsedMs: number, total: number): number {
  if (elapsedMs <= 0) return 0;
  return Math.min(total, Math.floor((ratePerSec * elapsedMs) / 1000));
}

export interface LatencyResult {
  /** Records whose send resolved, with their latency (ms, send() call to acknowledgement). */
  latencies: Float64Array;
  /** Records sent (called send for). */
  sent: number;
  errors: number;
  firstError: unknown;
  /** Requested rate and the one achieved over the send phase (records/s). */
  targetRate: number;
  achievedRate: number;
}

export interface PaceOptions {
  ratePerSec: number;
  seconds: number;
  /** The pacing tick: every tick sends all the records due by then. */
  tickMs: number;
  /** How long to wait for the last acknowledgements after the send phase. */
  drainMs?: number;
}

/**
 * Calls `send` at a fixed rate for `seconds` (whatever is due at each `tickMs` tick, so a late
 * timer is caught up at once rather than silently lowering the rate), awaiting each returned
 * promise to record that record's latency from the moment send was called.
 */
export async function pacedLatency(
  send: () => Promise<unknown>,
  opts: PaceOptions,
): Promise<LatencyResult> {
  const total = Math.max(1, Math.round(opts.ratePerSec * opts.seconds));
  const latencies = new Float64Array(total);
  let done = 0;
  let errors = 0;
  let firstError: unknown;
  let settled = 0;
  let sent = 0;
  let wakeDrain: (() => void) | undefined;
  const onSettled = () => {
    settled += 1;
    if (settled === sent && wakeDrain) wakeDrain();
  };
  const start = performance.now();
  while (sent < total) {
    const due = dueCount(opts.ratePerSec, performance.now() - start, total);
    while (sent < due) {
      const t0 = performance.now();
      sent += 1;
      let p: Promise<unknown>;
      try {
        p = send();
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        () => {
          latencies[done++] = performance.now() - t0;
          onSettled();
        },
        (err: unknown) => {
          errors += 1;
          firstError ??= err;
          onSettled();
        },
      );
    }
    if (sent < total) await new Promise((r) => setTimeout(r, opts.tickMs));
  }
  const sendMs = performance.now() - start;
  if (settled < sent) {
    await new Promise<void>((resolve) => {
      wakeDrain = resolve;
      setTimeout(resolve, opts.drainMs ?? 30_000).unref();
    });
  }
  const result = latencies.slice(0, done).sort();
  return {
    latencies: result,
    sent,
    errors: errors + (sent - settled),
    firstError:
      sent > settled && firstError === undefined ? 'unacknowledged at drain timeout' : firstError,
    targetRate: opts.ratePerSec,
    achievedRate: (sent / sendMs) * 1000,
  };
}
