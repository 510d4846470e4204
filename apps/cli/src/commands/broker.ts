import { InvalidReplicationFactorError, InvalidRequestError } from '@strand/wire';
import { flag } from '../cli/flags.js';
import { type Command, type Context, command } from '../cli/spec.js';
import { UsageError } from '../cli/usage.js';
import { currentAssignment, executePlan } from '../reassign/execute.js';
import { changedAssignments, planAssignment } from '../reassign/plan.js';
import { planFile } from '../reassign/plan-file.js';
import type { MoveOptions } from '../reassign/run.js';
import { withAdmin } from './common.js';

/** How a move of many partitions is paced and how long it may take: drain and reassign alike. */
export const MOVE_FLAGS = {
  'max-moves': flag.int('partitions moving at once', { min: 1, max: 1000, default: 10 }),
  wait: flag.duration('give up waiting after this long (moves under way go on)', {
    default: 30 * 60_000,
    defaultText: '30m',
  }),
};

export const moveOptions = (ctx: Context): MoveOptions => {
  const f = ctx.flags as { 'max-moves': number; wait: number };
  return { maxMoves: f['max-moves'], waitMs: f.wait, signal: ctx.signal };
};

const drain = command({
  name: 'drain',
  summary: 'move every replica off a broker, so that it can be removed',
  description:
    'Moves each replica the broker holds to another live broker (the one holding the fewest, in a rack the partition does not use where racks are set), through the controller: the new replica copies the log as a follower and the broker leaves the partition only once the new one is in the ISR, so no ISR shrinks meanwhile. Prints each move as it starts and ends, and exits once the broker holds no replica; it can then be stopped for good. Refused, before anything moves, when a partition has more replicas than there are other live brokers. New topics may still place replicas on it while it drains.',
  args: [{ name: 'ID', help: 'the broker to drain' }],
  flags: { ...MOVE_FLAGS, 'dry-run': flag.bool('print the moves without making them') },
  target: 'brokers',
  examples: [{ command: 'strand broker drain 4', note: 'then stop broker 4' }],
  check: (ctx) => {
    if (!/^[1-9]\d{0,9}$/.test(ctx.args[0]!))
      throw new UsageError(`broker id must be a positive integer, got "${ctx.args[0]}"`, [
        'broker',
        'drain',
      ]);
  },
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const id = Number(ctx.args[0]);
      const cluster = await admin.describeCluster();
      if (!cluster.brokers.some((b) => b.id === id))
        throw new InvalidRequestError(`broker ${id} is not registered in the cluster`);
      const others = cluster.brokers.filter((b) => !b.fenced && b.id !== id);
      // A fenced broker (down, perhaps restarting) keeps its replicas: only this one's move.
      const keep = cluster.brokers.filter((b) => b.fenced && b.id !== id).map((b) => b.id);
      const current = currentAssignment(await admin.listTopics());
      let moves: ReturnType<typeof changedAssignments>;
      try {
        moves = changedAssignments(
          current,
          planAssignment(current, { brokers: others, keep, replaceOnly: true }),
        );
      } catch (err) {
        if (!(err instanceof InvalidReplicationFactorError)) throw err;
        throw new InvalidReplicationFactorError(`cannot drain broker ${id}: ${err.message}`);
      }
      const result = { broker: id, moved: moves.length, plan: planFile(moves) };
      if (ctx.flags['dry-run'] || moves.length === 0) {
        ctx.out.result(result, () =>
          moves.length === 0
            ? `broker ${id} holds no replicas`
            : `would move ${moves.length} partition(s) off broker ${id}:\n${JSON.stringify(planFile(moves))}`,
        );
        return;
      }
      await executePlan(admin, moves, {
        ...moveOptions(ctx),
        progress: (line) => ctx.out.note(line),
      });
      const left = currentAssignment(await admin.listTopics()).filter((a) =>
        a.replicas.includes(id),
      );
      if (left.length > 0)
        throw new InvalidRequestError(
          `broker ${id} still holds ${left.map((a) => `${a.topic}-${a.partition}`).join(' ')} (placed there meanwhile): drain again`,
        );
      ctx.out.result(result, `broker ${id} holds no replicas (${moves.length} partition(s) moved)`);
    }),
});

export const broker: Command = {
  name: 'broker',
  summary: 'operate on brokers: drain one before removing it',
  subcommands: [drain],
};
