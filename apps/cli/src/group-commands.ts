import { Admin, type GroupDescription, type ResetSpec } from '@strand/client';
import { checkGroupId, checkTopicName, InvalidRequestError } from '@strand/wire';
import { z } from 'zod';
import { clientOptions, intString, need, type Parsed, parseFlags, timeString } from './args.js';
import { table } from './format.js';

export const GROUP_USAGE = `strand group list
strand group describe GROUP
strand group reset-offsets GROUP (--to-earliest | --to-latest | --to-offset N | --to-datetime T) [--topic T]
strand group delete GROUP`;

const ResetFlags = z
  .object({
    'to-earliest': z.boolean().optional(),
    'to-latest': z.boolean().optional(),
    'to-offset': intString(0).optional(),
    'to-datetime': timeString.optional(),
    topic: z.string().optional(),
  })
  .refine(
    (f) =>
      [
        f['to-earliest'],
        f['to-latest'],
        f['to-offset'] !== undefined,
        f['to-datetime'] !== undefined,
      ].filter(Boolean).length === 1,
    {
      message: 'give exactly one of --to-earliest, --to-latest, --to-offset N and --to-datetime T',
    },
  );

export function parseReset(flags: Parsed['flags']): { to: ResetSpec; topic?: string } {
  const f = parseFlags(ResetFlags, flags);
  const to: ResetSpec = f['to-earliest']
    ? 'earliest'
    : f['to-latest']
      ? 'latest'
      : f['to-offset'] !== undefined
        ? { offset: f['to-offset'] }
        : { timestamp: f['to-datetime']! };
  return { to, ...(f.topic !== undefined ? { topic: checkTopicName(f.topic) } : {}) };
}

const dash = (v: number | null) => (v === null ? '-' : v);

function describeText(d: GroupDescription): string {
  return [
    `group ${d.groupId}: ${d.state}, generation ${d.generation}, protocol ${d.protocol || '-'}, ${d.members.length} member(s), lag ${d.lag}`,
    '',
    d.offsets.length === 0
      ? '(no partitions)'
      : table(
          d.offsets.map((o) => ({
            topic: o.topic,
            partition: o.partition,
            committed: dash(o.committed),
            'log-end': o.logEndOffset,
            lag: dash(o.lag),
            member: o.memberId ? `${o.memberId}` : '-',
          })),
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

/** `strand group list|describe|reset-offsets|delete`. */
export async function runGroup(p: Parsed, out: (line: string) => void): Promise<void> {
  const [, sub, ...args] = p.command;
  const admin = new Admin(clientOptions(p));
  try {
    switch (sub) {
      case 'list': {
        need(args, 0, 'strand group list');
        const groups = await admin.listGroups();
        if (p.global.json) out(JSON.stringify(groups));
        else if (groups.length === 0) out('(no groups)');
        else
          out(
            table(
              groups.map((g) => ({
                group: g.groupId,
                state: g.state,
                members: g.members,
                generation: g.generation,
                protocol: g.protocol || '-',
                lag: g.lag,
              })),
            ),
          );
        return;
      }
      case 'describe': {
        const [group] = need(args, 1, 'strand group describe GROUP') as [string];
        const d = await admin.describeGroup(checkGroupId(group));
        out(p.global.json ? JSON.stringify(d) : describeText(d));
        return;
      }
      case 'reset-offsets': {
        const [group] = need(args, 1, GROUP_USAGE.split('\n')[2]!) as [string];
        const { to, topic } = parseReset(p.flags);
        const offsets = await admin.resetGroupOffsets(checkGroupId(group), to, {
          ...(topic ? { topic } : {}),
        });
        if (p.global.json) out(JSON.stringify(offsets));
        else
          out(
            table(
              offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })),
            ),
          );
        return;
      }
      case 'delete': {
        const [group] = need(args, 1, 'strand group delete GROUP') as [string];
        await admin.deleteGroup(checkGroupId(group));
        out(p.global.json ? JSON.stringify({ deleted: group }) : `deleted group ${group}`);
        return;
      }
      default:
        throw new InvalidRequestError(`usage: ${GROUP_USAGE.replace(/\n/g, ' | ')}`);
    }
  } finally {
    await admin.close();
  }
}
