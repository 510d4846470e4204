/**
 * A log for complaints a misbehaving client can repeat at will: each kind (`key`) is logged
 * at most once per `everyMs`, with how many there were in all, so a flood stays a few lines
 * and one kind never hides another.
 */
export function throttledLog(
  log: (line: string) => void,
  everyMs: number,
): (key: string, line: string) => void {
  const last = new Map<string, number>();
  const counts = new Map<string, number>();
  return (key, line) => {
    const count = (counts.get(key) ?? 0) + 1;
    if (counts.size > 1000) counts.clear();
    counts.set(key, count);
    const now = Date.now();
    if (now - (last.get(key) ?? Number.NEGATIVE_INFINITY) < everyMs) return;
    if (last.size > 1000) last.clear();
    last.set(key, now);
    log(count > 1 ? `${line} (${count} so far)` : line);
  };
}
