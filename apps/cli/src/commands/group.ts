import type { GroupDescription, ResetSpec } from '@strand/client';
import { checkGroupId, checkTopicName } from '@strand/wire';
import { flag } from '../cli/flags.js';
import { table } from '../cli/output.js';
import { type Command, command } from '../cli/spec.js';
import { UsageError } from '../cli/usage.js';
import { withAdmin } from './common.js';

const GROUP = { name: 'GROUP', help: 'the consumer group id' };
const checkGroup = (ctx: { args: string[] }) => {
  checkGroupId(ctx.args[0]!);
};

function describeText(d: GroupDescription): string {
  return [
    `group ${d.groupId}: ${d.state}, generation ${d.generation}, protocol ${d.protocol || '-'}, ${d.members.length} member(s), lag ${d.lag}`,
    '',
    table(
      d.offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        committed: o.committed,
        'log-end': o.logEndOffset,
        lag: o.lag,
        member: o.memberId || '-',
      })),
      '(no partitions)',
    ),
    ...(d.members.length > 0
      ? [
          '',
          table(
            d.members.map((m) => ({
              member: m.memberId,
              instance: m.groupInstanceId || '-',
              client: m.clientId,
              partitions: m.assignment.map((tp) => `${tp.topic}-${tp.partition}`).join(',') || '-',
            })),
          ),
        ]
      : []),
  ].join('\n');
}

const list = command({
  name: 'list',
  aliases: ['ls'],
  summary: 'groups with their state, members, generation and lag',
  target: 'brokers',
  examples: [{ command: 'strand group list' }],
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const groups = await admin.listGroups();
      ctx.out.result(groups, () =>
        table(
          groups.map((g) => ({
            group: g.groupId,
            state: g.state,
            members: g.members,
            generation: g.generation,
            protocol: g.protocol || '-',
            lag: g.lag,
          })),
          '(no groups)',
        ),
      );
    }),
});

const describe = command({
  name: 'describe',
  summary: "a group's members, and per partition: committed offset, log end, lag, member",
  args: [GROUP],
  target: 'brokers',
  check: checkGroup,
  examples: [{ command: 'strand group describe billing' }],
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const d = await admin.describeGroup(ctx.args[0]!);
      ctx.out.result(d, () => describeText(d));
    }),
});

const reset = command({
  name: 'reset-offsets',
  summary: "move a group's committed offsets (the group must have no active members)",
  description:
    'Moves the committed offsets of GROUP, for --topic or for every topic it has offsets for, to the earliest or latest offset, an offset, or the first record at a time. The group must have no active members: stop its consumers first (their next start reads from the new offsets).',
  args: [GROUP],
  flags: {
    'to-earliest': flag.bool('to the oldest record kept'),
    'to-latest': flag.bool('to the end (skip everything so far)'),
    'to-offset': flag.int('to this offset (capped to what the partition holds)'),
    'to-datetime': flag.time(
      'to the first record at or after this time (ms since the epoch or ISO date)',
    ),
    topic: flag.string('only this topic', { placeholder: 'TOPIC' }),
  },
  target: 'brokers',
  examples: [
    { command: 'strand group reset-offsets billing --to-earliest' },
    {
      command:
        'strand group reset-offsets billing --to-datetime 2026-01-31T12:00:00Z --topic events',
    },
  ],
  check: (ctx) => {
    checkGroup(ctx);
    const f = ctx.flags;
    const given = [
      f['to-earliest'],
      f['to-latest'],
      f['to-offset'] !== undefined,
      f['to-datetime'] !== undefined,
    ];
    if (given.filter(Boolean).length !== 1)
      throw new UsageError(
        'give exactly one of --to-earliest, --to-latest, --to-offset N and --to-datetime T',
        ['group', 'reset-offsets'],
      );
    if (f.topic !== undefined) checkTopicName(f.topic);
  },
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const f = ctx.flags;
      const to: ResetSpec = f['to-earliest']
        ? 'earliest'
        : f['to-latest']
          ? 'latest'
          : f['to-offset'] !== undefined
            ? { offset: f['to-offset'] }
            : { timestamp: f['to-datetime']! };
      const offsets = await admin.resetGroupOffsets(ctx.args[0]!, to, {
        ...(f.topic ? { topic: f.topic } : {}),
      });
      ctx.out.result(offsets, () =>
        table(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }))),
      );
    }),
});

const del = command({
  name: 'delete',
  aliases: ['rm'],
  summary: 'delete a group without active members, and its committed offsets',
  args: [GROUP],
  target: 'brokers',
  check: checkGroup,
  examples: [{ command: 'strand group delete billing' }],
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const group = ctx.args[0]!;
      await admin.deleteGroup(group);
      ctx.out.result({ deleted: group }, `deleted group ${group}`);
    }),
});

export const group: Command = {
  name: 'group',
  summary: 'list, describe, reset and delete consumer groups',
  subcommands: [list, describe, reset, del],
};
