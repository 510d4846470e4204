import type { Admin, TopicDescription } from '@strand/client';
import { InvalidRequestError, TimeoutError } from '@strand/wire';
import type { Assignment } from './plan.js';

const id = (a: { topic: string; partition: number }) => `${a.topic}-${a.partition}`;
const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Each partition's assignment: where it is moving to, if a move is under way. */
export function currentAssignment(topics: readonly TopicDescription[]): Assignment[] {
  return topics.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.name,
      partition: p.partition,
      replicas: [...(p.targetReplicas ?? p.replicas)],
    })),
  );
}

/** A partition's state against a planned assignment. */
export type MoveState = 'done' | 'moving' | 'differs' | 'missing';

export function moveState(topics: readonly TopicDescription[], a: Assignment): MoveState {
  const p = topics
    .find((t) => t.name === a.topic)
    ?.partitions.find((q) => q.partition === a.partition);
  if (!p) return 'missing';
  if (p.targetReplicas) return same(p.targetReplicas, a.replicas) ? 'moving' : 'differs';
  return same(p.replicas, a.replicas) ? 'done' : 'differs';
}

export interface ExecuteOptions {
  /** Moves under way at once (each copies a partition's log to its new replicas). */
  maxMoves: number;
  /** Gives up (the moves under way go on) after this long. */
  waitMs: number;
  pollMs?: number;
  signal?: AbortSignal;
  /** A line for each move started and done. */
  progress: (line: string) => void;
}

/**
 * Carries out moves through the controller, at most `maxMoves` at a time: each new replica
 * copies the log as a follower and the old ones leave only once every new one is in the ISR
 * (the controller's reassignment), so no ISR shrinks below what it was. Resolves once every
 * partition has exactly its planned replicas; a partition already moving waits for that move.
 */
export async function executePlan(
  admin: Admin,
  moves: readonly Assignment[],
  opts: ExecuteOptions,
): Promise<void> {
  const deadline = Date.now() + opts.waitMs;
  const pending = [...moves];
  const started = new Map<string, Assignment>();
  let done = 0;
  for (;;) {
    const topics = await admin.listTopics();
    for (const [key, a] of started) {
      const state = moveState(topics, a);
      if (state === 'moving') continue;
      if (state !== 'done')
        throw new InvalidRequestError(
          `${key} changed while it moved to ${a.replicas} (${state}); nothing else was started`,
        );
      started.delete(key);
      done += 1;
      opts.progress(`moved ${key} to ${a.replicas.join(',')} (${done}/${moves.length})`);
    }
    while (started.size < opts.maxMoves && pending.length > 0) {
      const a = pending[0]!;
      const p = topics
        .find((t) => t.name === a.topic)
        ?.partitions.find((q) => q.partition === a.partition);
      if (!p) throw new InvalidRequestError(`${id(a)} is not in the cluster`);
      if (p.targetReplicas && !same(p.targetReplicas, a.replicas)) break; // another move first
      pending.shift();
      if (!p.targetReplicas) await admin.reassignPartition(a.topic, a.partition, a.replicas);
      started.set(id(a), a);
      opts.progress(`moving ${id(a)}: ${p.replicas.join(',')} -> ${a.replicas.join(',')}`);
    }
    if (started.size === 0 && pending.length === 0) return;
    if (Date.now() > deadline)
      throw new TimeoutError(
        `${pending.length + started.size} of ${moves.length} moves not done within ${opts.waitMs} ms (those started go on): ${[...started.keys(), ...pending.map(id)].join(' ')}`,
      );
    await sleep(opts.pollMs ?? 250, opts.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}
