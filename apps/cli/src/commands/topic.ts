import type { Admin, PartitionOffsets, TopicDescription } from '@strand/client';
import {
  checkTopicConfigs,
  checkTopicName,
  effectiveTopicConfigs,
  InvalidConfigError,
  MAX_PARTITIONS,
  TOPIC_CONFIG_NAMES,
} from '@strand/wire';
import { z } from 'zod';
import { flag } from '../cli/flags.js';
import { table } from '../cli/output.js';
import { type Command, type Context, command } from '../cli/spec.js';
import { UsageError } from '../cli/usage.js';
import { readPlanFile } from '../reassign/plan-file.js';
import { carryOut, planMoves, printPlan, verifyPlan } from '../reassign/run.js';
import { MOVE_FLAGS, moveOptions } from './broker.js';
import { bytes, withAdmin } from './common.js';

const NAME = {
  name: 'NAME',
  help: "the topic's name: letters, digits, '.', '_' and '-', at most 249 characters",
};

/** Topic names are checked here as the brokers check them, before anything is contacted. */
const checkName = (ctx: { args: string[] }) => {
  checkTopicName(ctx.args[0]!);
};

/** The configs that differ from the defaults (what `create --config` or `alter` set). */
function overrides(t: TopicDescription): Record<string, string> {
  const defaults = effectiveTopicConfigs({});
  return Object.fromEntries(Object.entries(t.configs).filter(([k, v]) => defaults[k] !== v));
}

type Described = TopicDescription & {
  partitions: (TopicDescription['partitions'][number] &
    Partial<Omit<PartitionOffsets, 'partition' | 'offset'>>)[];
};

function describeText(t: Described): string {
  const defaults = effectiveTopicConfigs({});
  return [
    `Topic ${t.name}  id ${t.id}  partitions ${t.partitions.length}  replication factor ${t.replicationFactor}`,
    '',
    table(
      [...t.partitions]
        .sort((a, b) => a.partition - b.partition)
        .map((p) => ({
          partition: p.partition,
          leader: p.leader < 0 ? 'none' : p.leader,
          epoch: p.leaderEpoch,
          replicas: p.replicas.join(','),
          isr: p.isr.join(','),
          'log-start': p.logStartOffset,
          'log-end': p.logEndOffset,
          'high-watermark': p.highWatermark,
          size: p.sizeBytes === undefined ? undefined : bytes(p.sizeBytes),
          moving: p.targetReplicas ? `to ${p.targetReplicas.join(',')}` : '',
        })),
    ),
    ...cleanerText(t),
    '',
    table(
      Object.entries(t.configs)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([config, value]) => ({
          config,
          value,
          source: defaults[config] === value ? 'default' : 'topic',
        })),
    ),
  ].join('\n');
}

/** A compacted topic: each partition's cleaning, as its leader reports it. */
function cleanerText(t: Described): string[] {
  const rows = [...t.partitions]
    .sort((a, b) => a.partition - b.partition)
    .filter((p) => p.cleaner)
    .map((p) => ({
      partition: p.partition,
      'dirty-ratio': p.cleaner!.dirtyRatio.toFixed(3),
      cleaned: bytes(p.cleaner!.cleanedBytes),
      'last-cleaned': p.cleaner!.lastCleanedMs
        ? new Date(p.cleaner!.lastCleanedMs).toISOString()
        : 'never',
      error: p.cleaner!.error ?? '',
    }));
  return rows.length === 0 ? [] : ['', 'Log cleaner (since each leader started)', table(rows)];
}

/** The description with each partition's offsets and size (from its leader), where known. */
async function describe(admin: Admin, name: string, ctx: Context): Promise<Described> {
  const t = await admin.describeTopic(name);
  let offsets: PartitionOffsets[] = [];
  try {
    offsets = await admin.listOffsets(name, 'latest');
  } catch (err) {
    ctx.out.note(`strand: offsets unavailable: ${(err as Error).message}`);
  }
  const at = new Map(offsets.map((o) => [o.partition, o]));
  return {
    ...t,
    partitions: t.partitions.map((p) => {
      const o = at.get(p.partition);
      return o
        ? {
            ...p,
            logStartOffset: o.logStartOffset,
            logEndOffset: o.logEndOffset,
            highWatermark: o.highWatermark,
            sizeBytes: o.sizeBytes,
            ...(o.cleaner && { cleaner: o.cleaner }),
          }
        : p;
    }),
  };
}

const create = command({
  name: 'create',
  summary: 'create a topic',
  args: [NAME],
  flags: {
    partitions: flag.int('how many partitions (ordered logs) it has', {
      min: 1,
      max: MAX_PARTITIONS,
      default: 1,
    }),
    'replication-factor': flag.int('copies of each partition, on distinct brokers', {
      min: 1,
      max: 16,
      default: 1,
      placeholder: 'R',
    }),
    config: flag.pairs(`a topic config (${TOPIC_CONFIG_NAMES.join(', ')})`),
  },
  examples: [
    { command: 'strand topic create events --partitions 3 --config retention.ms=86400000' },
    { command: 'strand topic create audit --replication-factor 3 --config retention.ms=-1' },
  ],
  target: 'brokers',
  check: (ctx) => {
    checkName(ctx);
    checkTopicConfigs(ctx.flags.config ?? {});
  },
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const t = await admin.createTopic({
        name: ctx.args[0]!,
        partitions: ctx.flags.partitions,
        replicationFactor: ctx.flags['replication-factor'],
        configs: checkTopicConfigs(ctx.flags.config ?? {}),
      });
      const n = t.partitions.length;
      ctx.out.result(
        t,
        `created topic ${t.name} (${n} partition${n === 1 ? '' : 's'}, replication factor ${t.replicationFactor})`,
      );
    }),
});

const list = command({
  name: 'list',
  aliases: ['ls'],
  summary: 'list topics with their partitions, replication and configs set',
  target: 'brokers',
  examples: [{ command: 'strand topic list' }, { command: 'strand topic list -o yaml' }],
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const topics = await admin.listTopics();
      ctx.out.result(topics, () =>
        table(
          topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.length,
            replication: t.replicationFactor,
            configs: Object.entries(overrides(t))
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
          })),
          '(no topics)',
        ),
      );
    }),
});

const describeCmd = command({
  name: 'describe',
  summary: 'partitions (leader, epoch, replicas, ISR, offsets, size) and configs of a topic',
  description:
    "Shows each partition's leader, leader epoch, replicas and in-sync replicas, its log start and end offsets, its high watermark (what consumers can read up to) and its size on the leader's disk; then every config with its source (default, or set on the topic).",
  args: [NAME],
  target: 'brokers',
  check: checkName,
  examples: [
    { command: 'strand topic describe events' },
    { command: 'strand topic describe events --json' },
  ],
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const t = await describe(admin, ctx.args[0]!, ctx);
      ctx.out.result(t, () => describeText(t));
    }),
});

const alter = command({
  name: 'alter',
  summary: 'change configs (applied live) or add partitions',
  args: [NAME],
  flags: {
    config: flag.pairs('set a topic config'),
    'delete-config': flag.list('put a config back to its default', { placeholder: 'NAME' }),
    partitions: flag.int('grow to this many partitions (never fewer)', {
      min: 1,
      max: MAX_PARTITIONS,
    }),
  },
  target: 'brokers',
  examples: [
    { command: 'strand topic alter events --config retention.bytes=1073741824 --partitions 6' },
    { command: 'strand topic alter events --delete-config retention.bytes' },
  ],
  check: (ctx) => {
    checkName(ctx);
    const f = ctx.flags;
    if (f.partitions === undefined && !f.config && !f['delete-config'])
      throw new UsageError(
        'nothing to change: give --config k=v, --delete-config NAME or --partitions N',
        ['topic', 'alter'],
      );
    const set = checkTopicConfigs(f.config ?? {});
    for (const k of f['delete-config'] ?? []) {
      // A typo in a deleted name should not silently do nothing.
      if (!(TOPIC_CONFIG_NAMES as string[]).includes(k))
        throw new InvalidConfigError(
          `unknown config "${k}" (known: ${TOPIC_CONFIG_NAMES.join(', ')})`,
        );
      if (k in set)
        throw new UsageError(`config "${k}" is both set and deleted`, ['topic', 'alter']);
    }
  },
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const f = ctx.flags;
      await admin.alterTopic(ctx.args[0]!, {
        ...(f.config ? { set: checkTopicConfigs(f.config) } : {}),
        ...(f['delete-config'] ? { delete: f['delete-config'] } : {}),
        ...(f.partitions !== undefined ? { partitions: f.partitions } : {}),
      });
      const t = await describe(admin, ctx.args[0]!, ctx);
      ctx.out.result(t, () => `altered topic ${t.name}\n\n${describeText(t)}`);
    }),
});

const del = command({
  name: 'delete',
  aliases: ['rm'],
  summary: 'delete a topic and its data',
  args: [NAME],
  target: 'brokers',
  check: checkName,
  examples: [{ command: 'strand topic delete events' }],
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const name = ctx.args[0]!;
      await admin.deleteTopic(name);
      ctx.out.result({ deleted: name }, `deleted topic ${name}`);
    }),
});

const brokerIds = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'expected broker ids like 1,2,3')
  .transform((s) => s.split(',').map(Number))
  .refine((ids) => new Set(ids).size === ids.length && ids.every((b) => b >= 1), {
    message: 'broker ids must be distinct and 1 or more',
  });

const reassign = command({
  name: 'reassign',
  summary: 'move partitions to other brokers: one, or a plan for a topic or the cluster',
  description:
    "With --partition and --replicas, moves one partition to a new replica list (the first is its preferred leader): the new replicas copy the log as followers, then the old ones are dropped; `strand topic describe` shows the move until it is done. Otherwise plans a new assignment for the topic NAME, or for every topic (--all-topics), over the live brokers (or --brokers): every broker ends with an even share of replicas and preferred leaderships, a partition's replicas in as many racks as there are, and as few replicas moved as that takes. It prints the current assignment of the partitions it would change and the proposed one (JSON, as kafka-reassign-partitions --generate); --execute carries it out (or a saved plan: --plan FILE) through the controller, --max-moves partitions at a time, printing each move, and --verify --plan FILE says which partitions of a plan are done.",
  args: [{ ...NAME, optional: true }],
  flags: {
    partition: flag.int('the partition to move', { max: MAX_PARTITIONS - 1 }),
    replicas: flag.custom(brokerIds, 'the new replicas, preferred leader first', {
      placeholder: 'ID[,ID...]',
    }),
    'all-topics': flag.bool('plan for every topic of the cluster'),
    brokers: flag.custom(brokerIds, 'the brokers to place replicas on (default: every live one)', {
      placeholder: 'ID[,ID...]',
    }),
    execute: flag.bool('carry the plan out and wait until it is done'),
    verify: flag.bool('say which partitions of --plan FILE have their planned replicas'),
    plan: flag.string('a plan as printed (its "Proposed" part, or the --json output\'s proposed)', {
      placeholder: 'FILE',
    }),
    ...MOVE_FLAGS,
  },
  target: 'brokers',
  examples: [
    { command: 'strand topic reassign events --partition 0 --replicas 2,3' },
    {
      command: 'strand topic reassign --all-topics',
      note: 'print a plan that balances the cluster',
    },
    { command: 'strand topic reassign events --execute', note: 'balance one topic' },
    { command: 'strand topic reassign --verify --plan plan.json' },
  ],
  check: (ctx) => {
    const f = ctx.flags;
    const name = ctx.args[0];
    if (name !== undefined) checkName(ctx);
    const usage = (m: string) => new UsageError(m, ['topic', 'reassign']);
    if (f.partition !== undefined || f.replicas !== undefined) {
      if (f.partition === undefined || f.replicas === undefined || name === undefined)
        throw usage('give NAME --partition N --replicas ID[,ID...] to move one partition');
      if (f.execute || f.verify || f.plan || f['all-topics'] || f.brokers)
        throw usage(
          '--partition/--replicas move one partition: no --execute, --verify, --plan, --all-topics or --brokers',
        );
      return;
    }
    if (f.verify && f.execute) throw usage('give --verify or --execute, not both');
    if (f.plan !== undefined) {
      if (!f.verify && !f.execute) throw usage('--plan FILE goes with --execute or --verify');
      if (name !== undefined || f['all-topics'] || f.brokers)
        throw usage('--plan FILE says what moves: no NAME, --all-topics or --brokers');
      return;
    }
    if (f.verify) throw usage('--verify needs --plan FILE');
    if ((name === undefined) === !f['all-topics'])
      throw usage('give a topic NAME or --all-topics (or --partition/--replicas, or --plan FILE)');
  },
  run: async (ctx) => {
    const f = ctx.flags as {
      partition?: number;
      replicas?: number[];
      'all-topics': boolean;
      brokers?: number[];
      execute: boolean;
      verify: boolean;
      plan?: string;
      'max-moves': number;
      wait: number;
    };
    let status = 0;
    await withAdmin(ctx, async (admin) => {
      if (f.partition !== undefined && f.replicas !== undefined) {
        const t = await admin.reassignPartition(ctx.args[0]!, f.partition, f.replicas);
        ctx.out.result(
          t,
          () =>
            `moving ${t.name}-${f.partition} to brokers ${f.replicas!.join(',')}\n\n${describeText(t)}`,
        );
      } else if (f.verify) status = await verifyPlan(admin, ctx.out, f.plan!);
      else if (f.plan) await carryOut(admin, ctx.out, readPlanFile(f.plan), moveOptions(ctx));
      else {
        const { current, moves } = await planMoves(admin, ctx.args[0], f.brokers);
        if (f.execute) await carryOut(admin, ctx.out, moves, moveOptions(ctx));
        else printPlan(ctx.out, current, moves);
      }
    });
    return status;
  },
});

export const topic: Command = {
  name: 'topic',
  summary: 'create, list, describe, alter, delete and move topics',
  subcommands: [create, list, describeCmd, alter, del, reassign],
};
