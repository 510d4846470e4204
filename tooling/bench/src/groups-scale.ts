import { Consumer } from '@strand/client';

/** The groups bench's scale rows: how rebalance time and commit rate grow with groups and members. */
export interface ScaleRow {
  groups: number;
  members: number;
  /** ms from one more member joining group 0 until all its members hold their partitions. */
  rebalanceMs: number;
  commitsPerSec: number;
  offsetsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  /** The errors by code (or class name, for one without a code), as ` (CODE n, ...)`. */
  errorKinds: string;
  /** The first message of each kind, a line each. */
  errorMessages: string;
}

/** How much of an error's message a tally keeps. */
const MESSAGE_CHARS = 200;

/**
 * Counts errors by their code, so a row says why commits failed, not only how many, and keeps
 * the first message of each kind (an INTERNAL error says nothing without it).
 */
export class ErrorTally {
  readonly kinds = new Map<string, number>();
  readonly firstMessages = new Map<string, string>();
  count = 0;

  add(err: unknown): void {
    const code = (err as { code?: unknown }).code;
    const kind = typeof code === 'string' ? code : (err as Error).constructor?.name || 'unknown';
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    if (!this.firstMessages.has(kind)) {
      const message = err instanceof Error ? err.message : String(err);
      this.firstMessages.set(kind, message.slice(0, MESSAGE_CHARS));
    }
    this.count += 1;
  }

  /** ` (CODE n, ...)` when there were any, else ''. */
  toString(): string {
    if (this.count === 0) return '';
    const list = [...this.kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
    return ` (${list.join(', ')})`;
  }

  /** One line per kind, most frequent first: `  CODE: first message`. */
  messages(): string {
    return [...this.kinds]
      .sort((a, b) => b[1] - a[1])
      .map(([k]) => `\n  ${k}: ${this.firstMessages.get(k) ?? ''}`)
      .join('');
  }
}

const TOPIC_PARTITIONS = 100;

/**
 * `groups` groups of `members` members each on one topic of 100 partitions. Group 0 (the probe)
 * heartbeats every 100 ms and keeps polling, so it rebalances promptly; the others heartbeat
 * every second and stop polling once their whole group holds its partitions (they stay
 * members: nothing asks them to rejoin), which keeps a 5,000-member row within what one client process and two
 * cores can drive. Then every member of every group commits its own partitions, one commit in
 * flight each, for `seconds`.
 */
export async function scaleRow(
  bootstrap: string[],
  topic: string,
  groups: number,
  members: number,
  seconds: number,
): Promise<ScaleRow> {
  const tag = `scale-${groups}x${members}`;
  const all: Consumer[][] = [];
  const loops: Promise<void>[] = [];
  /** Groups whose members may stop polling (every member of theirs holds its share). */
  const quiet = new Set<number>();
  let stop = false;
  const add = (g: number) => {
    const probe = g === 0;
    const c = new Consumer({
      bootstrap,
      groupId: `${tag}-${g}`,
      assignors: ['range'],
      sessionTimeoutMs: probe ? 6000 : 30_000,
      heartbeatIntervalMs: probe ? 100 : 1000,
      autoOffsetReset: 'latest',
      autoCommit: false,
    });
    c.subscribe(topic);
    if (!all[g]) all[g] = [];
    all[g].push(c);
    loops.push(
      (async () => {
        while (!stop && (probe || !quiet.has(g)))
          await c.poll(probe ? 50 : 20).catch(() => undefined);
      })(),
    );
  };
  /** Resolves once group `g`'s `n` members hold their fair shares (checked every `everyMs`). */
  const settled = async (g: number, n: number, everyMs = 2) => {
    const deadline = performance.now() + 120_000;
    for (;;) {
      if (performance.now() > deadline)
        throw new Error(`group ${g} of row ${tag} did not settle within 120 s`);
      const group = all[g] ?? [];
      const owned = group.flatMap((c) => c.assignment().map((tp) => tp.partition));
      const fair = Math.floor(TOPIC_PARTITIONS / n);
      if (
        group.length === n &&
        owned.length === TOPIC_PARTITIONS &&
        new Set(owned).size === TOPIC_PARTITIONS &&
        group.every((c) => c.assignment().length >= fair)
      ) {
        if (g !== 0) quiet.add(g);
        return;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  try {
    for (let g = 0; g < groups; g++) for (let m = 0; m < members; m++) add(g);
    // All at once: each group goes quiet as soon as it holds its partitions. Waited for one
    // after another, every group behind the first kept polling (5,000 members each every
    // 20 ms in the 100 x 50 row): the bench process spent a whole core on it, its event loop
    // ran up to 1.2 s late, and members lost their sessions behind it.
    await Promise.all(Array.from({ length: groups }, (_, g) => settled(g, members, 50)));

    const t = performance.now();
    add(0);
    await settled(0, members + 1);
    const rebalanceMs = performance.now() - t;

    const everyone = all.flat();
    let commits = 0;
    let offsets = 0;
    const errors = new ErrorTally();
    const latencies: number[] = [];
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    await Promise.all(
      everyone.map(async (c) => {
        const tps = c.assignment();
        for (let i = 1; performance.now() < deadline; i++) {
          const at = performance.now();
          try {
            await c.commit(tps.map((tp) => ({ ...tp, offset: i })));
            latencies.push(performance.now() - at);
            commits++;
            offsets += tps.length;
          } catch (err) {
            errors.add(err);
          }
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.floor((p / 100) * (latencies.length - 1))] ?? 0;
    return {
      groups,
      members,
      rebalanceMs,
      commitsPerSec: commits / elapsed,
      offsetsPerSec: offsets / elapsed,
      p50: pct(50),
      p99: pct(99),
      errors: errors.count,
      errorKinds: errors.toString(),
      errorMessages: errors.messages(),
    };
  } finally {
    stop = true;
    await Promise.all(loops);
    await Promise.all(all.flat().map((c) => c.close().catch(() => undefined)));
  }
}

export function formatScaleRow(r: ScaleRow): string {
  const cell = `${r.groups} group(s) x ${r.members} member(s)`.padEnd(26);
  return `${cell} rebalance ${r.rebalanceMs.toFixed(0).padStart(5)} ms | commits ${r.commitsPerSec.toFixed(0).padStart(6)}/s = ${r.offsetsPerSec.toFixed(0).padStart(7)} offsets/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, errors ${r.errors}${r.errorKinds}${r.errorMessages}`;
}
