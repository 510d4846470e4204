/**
 * Where a library writes a structured log record: the ids that matter as fields, and a message
 * that stays the same from one record to the next (`(f, m) => pino.warn(f, m)` is one).
 */
export type LogSink = (fields: Record<string, unknown>, msg: string) => void;

/**
 * A log for complaints a misbehaving client can repeat at will: each kind (`key`) is logged
 * at most once per `everyMs`, with how many there were in all (`repeats`, past the first), so
 * a flood stays a few records and one kind never hides another.
 */
export function throttledLog(
  log: LogSink,
  everyMs: number,
): (key: string, fields: Record<string, unknown>, msg: string) => void {
  const last = new Map<string, number>();
  const counts = new Map<string, number>();
  return (key, fields, msg) => {
    const count = (counts.get(key) ?? 0) + 1;
    if (counts.size > 1000) counts.clear();
    counts.set(key, count);
    const now = Date.now();
    if (now - (last.get(key) ?? Number.NEGATIVE_INFINITY) < everyMs) return;
    if (last.size > 1000) last.clear();
    last.set(key, now);
    log(count > 1 ? { ...fields, repeats: count } : fields, msg);
  };
}
