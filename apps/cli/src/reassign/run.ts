import type { Admin } from '@strand/client';
import { InvalidRequestError } from '@strand/wire';
import type { Output } from '../cli/output.js';
import { table } from '../cli/output.js';
import { currentAssignment, executePlan, moveState } from './execute.js';
import { type Assignment, changedAssignments, planAssignment } from './plan.js';
import { planFile, readPlanFile } from './plan-file.js';

/** What `strand topic reassign` and `strand broker drain` do with a plan, from their flags. */
export interface MoveOptions {
  maxMoves: number;
  waitMs: number;
  signal: AbortSignal;
}

/**
 * The moves that balance topic `name` (every topic when undefined) over `brokers` (default:
 * the live ones), with the current assignment of the partitions they change.
 */
export async function planMoves(
  admin: Admin,
  name: string | undefined,
  brokers?: readonly number[],
): Promise<{ current: Assignment[]; moves: Assignment[] }> {
  const cluster = await admin.describeCluster();
  const live = cluster.brokers.filter((b) => !b.fenced);
  const unknown = brokers?.filter((id) => !live.some((b) => b.id === id)) ?? [];
  if (unknown.length > 0)
    throw new InvalidRequestError(`broker(s) ${unknown.join(',')} are not registered and live`);
  const topics = name === undefined ? await admin.listTopics() : [await admin.describeTopic(name)];
  const all = currentAssignment(topics);
  const targets = brokers ? live.filter((b) => brokers.includes(b.id)) : live;
  const moves = changedAssignments(all, planAssignment(all, { brokers: targets }));
  const changed = new Set(moves.map((m) => `${m.topic}-${m.partition}`));
  return { current: all.filter((a) => changed.has(`${a.topic}-${a.partition}`)), moves };
}

/** Prints a plan as kafka-reassign-partitions --generate does: current, then proposed. */
export function printPlan(out: Output, current: Assignment[], moves: Assignment[]): void {
  const data = { current: planFile(current), proposed: planFile(moves) };
  out.result(
    data,
    `Current partition replica assignment\n${JSON.stringify(data.current)}\n\nProposed partition reassignment configuration\n${JSON.stringify(data.proposed)}`,
  );
}

/** Carries the moves out, printing each as it starts and ends; the summary on stdout. */
export async function carryOut(
  admin: Admin,
  out: Output,
  moves: Assignment[],
  opts: MoveOptions,
): Promise<void> {
  await executePlan(admin, moves, { ...opts, progress: (line) => out.note(line) });
  out.result({ moved: moves.length, plan: planFile(moves) }, `moved ${moves.length} partition(s)`);
}

const STATE_TEXT = {
  done: 'done',
  moving: 'moving',
  differs: 'not as planned',
  missing: 'no such partition',
} as const;

/** Each partition of the plan in `path`: done, moving, or not; 1 unless all are done. */
export async function verifyPlan(admin: Admin, out: Output, path: string): Promise<number> {
  const plan = readPlanFile(path);
  const topics = await admin.listTopics();
  const rows = plan.map((a) => ({ ...a, state: moveState(topics, a) }));
  out.result(rows, () =>
    table(
      rows.map((r) => ({
        topic: r.topic,
        partition: r.partition,
        replicas: r.replicas.join(','),
        state: STATE_TEXT[r.state],
      })),
    ),
  );
  return rows.every((r) => r.state === 'done') ? 0 : 1;
}
