import { Admin, type TopicDescription } from '@strand/client';
import {
  checkTopicConfigs,
  checkTopicName,
  effectiveTopicConfigs,
  InvalidConfigError,
  InvalidRequestError,
  MAX_PARTITIONS,
  TOPIC_CONFIG_NAMES,
} from '@strand/wire';
import { z } from 'zod';
import { clientOptions, intString, keyValueList, need, type Parsed, parseFlags } from './args.js';
import { table } from './format.js';

export const TOPIC_USAGE = `strand topic create NAME [--partitions N] [--replication-factor R] [--config k=v ...]
strand topic list
strand topic describe NAME
strand topic alter NAME [--config k=v ...] [--delete-config k ...] [--partitions N]
strand topic delete NAME
strand topic reassign NAME --partition N --replicas ID[,ID...]`;

const CreateFlags = z.object({
  partitions: intString(1, MAX_PARTITIONS).optional(),
  'replication-factor': intString(1, 16).optional(),
  config: keyValueList.optional(),
});

const AlterFlags = z
  .object({
    partitions: intString(1, MAX_PARTITIONS).optional(),
    config: keyValueList.optional(),
    'delete-config': z.array(z.string().trim().min(1, 'a config name cannot be empty')).optional(),
  })
  .refine((f) => f.partitions !== undefined || f.config || f['delete-config'], {
    message: 'nothing to change: give --config k=v, --delete-config k or --partitions N',
  });

export interface CreateTopicOptions {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

/** `strand topic create` arguments, validated (names and configs as the brokers check them). */
export function parseCreateTopic(args: string[], flags: Parsed['flags']): CreateTopicOptions {
  const [name] = need(
    args,
    1,
    'strand topic create NAME [--partitions N] [--replication-factor R] [--config k=v ...]',
  ) as [string];
  const f = parseFlags(CreateFlags, flags);
  return {
    name: checkTopicName(name),
    partitions: f.partitions ?? 1,
    replicationFactor: f['replication-factor'] ?? 1,
    configs: checkTopicConfigs(f.config ?? {}),
  };
}

export interface AlterTopicOptions {
  name: string;
  set?: Record<string, string>;
  delete?: string[];
  partitions?: number;
}

export function parseAlterTopic(args: string[], flags: Parsed['flags']): AlterTopicOptions {
  const [name] = need(
    args,
    1,
    'strand topic alter NAME [--config k=v ...] [--delete-config k ...] [--partitions N]',
  ) as [string];
  const f = parseFlags(AlterFlags, flags);
  const set = f.config ? checkTopicConfigs(f.config) : undefined;
  const del = f['delete-config'];
  // The names of deleted configs are checked too: a typo should not silently do nothing.
  const unknown = del?.find((k) => !(TOPIC_CONFIG_NAMES as string[]).includes(k));
  if (unknown)
    throw new InvalidConfigError(
      `unknown config "${unknown}" (known: ${TOPIC_CONFIG_NAMES.join(', ')})`,
    );
  const both = del?.find((k) => set && k in set);
  if (both) throw new InvalidRequestError(`config "${both}" is both set and deleted`);
  return {
    name: checkTopicName(name),
    ...(set ? { set } : {}),
    ...(del ? { delete: del } : {}),
    ...(f.partitions !== undefined ? { partitions: f.partitions } : {}),
  };
}

const ReassignFlags = z.object({
  partition: intString(0, MAX_PARTITIONS - 1),
  replicas: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'expected broker ids like 1,2,3')
    .transform((s) => s.split(',').map(Number))
    .refine((ids) => new Set(ids).size === ids.length && ids.every((b) => b >= 1), {
      message: 'broker ids must be distinct and >= 1',
    }),
});

export function parseReassign(
  args: string[],
  flags: Parsed['flags'],
): { name: string; partition: number; replicas: number[] } {
  const [name] = need(
    args,
    1,
    'strand topic reassign NAME --partition N --replicas ID[,ID...]',
  ) as [string];
  const f = parseFlags(ReassignFlags, flags);
  return { name: checkTopicName(name), partition: f.partition, replicas: f.replicas };
}

/** The configs that differ from the defaults (what `create --config` or `alter` set). */
function overrides(t: TopicDescription): Record<string, string> {
  const defaults = effectiveTopicConfigs({});
  return Object.fromEntries(Object.entries(t.configs).filter(([k, v]) => defaults[k] !== v));
}

function describeText(t: TopicDescription): string {
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
          moving: p.targetReplicas ? `to ${p.targetReplicas.join(',')}` : '',
        })),
    ),
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

export async function runTopic(p: Parsed, out: (line: string) => void): Promise<void> {
  const [sub, ...args] = p.command.slice(1);
  // Everything is validated before a connection is made.
  const create = sub === 'create' ? parseCreateTopic(args, p.flags) : undefined;
  const alter = sub === 'alter' ? parseAlterTopic(args, p.flags) : undefined;
  const reassign = sub === 'reassign' ? parseReassign(args, p.flags) : undefined;
  let name: string | undefined;
  if (sub === 'describe' || sub === 'delete') {
    name = checkTopicName((need(args, 1, `strand topic ${sub} NAME`) as [string])[0]);
  } else if (sub === 'list') need(args, 0, 'strand topic list');
  else if (!create && !alter && !reassign)
    throw new InvalidRequestError(
      `unknown topic command ${sub ?? '(none)'}; usage:\n${TOPIC_USAGE}`,
    );

  const admin = new Admin(clientOptions(p));
  try {
    if (create) {
      const t = await admin.createTopic(create);
      out(
        p.global.json
          ? JSON.stringify(t)
          : `created topic ${t.name} (${t.partitions.length} partition${t.partitions.length === 1 ? '' : 's'}, replication factor ${t.replicationFactor})`,
      );
    } else if (alter) {
      const { name: topic, ...change } = alter;
      const t = await admin.alterTopic(topic, change);
      out(p.global.json ? JSON.stringify(t) : `altered topic ${t.name}\n\n${describeText(t)}`);
    } else if (reassign) {
      const t = await admin.reassignPartition(reassign.name, reassign.partition, reassign.replicas);
      out(
        p.global.json
          ? JSON.stringify(t)
          : `moving ${t.name}-${reassign.partition} to brokers ${reassign.replicas.join(',')}\n\n${describeText(t)}`,
      );
    } else if (sub === 'list') {
      const topics = (await admin.listTopics()).sort((a, b) => a.name.localeCompare(b.name));
      if (p.global.json) out(JSON.stringify(topics));
      else
        out(
          table(
            topics.map((t) => ({
              name: t.name,
              partitions: t.partitions.length,
              replication: t.replicationFactor,
              configs: Object.entries(overrides(t))
                .map(([k, v]) => `${k}=${v}`)
                .join(','),
            })),
          ),
        );
    } else if (sub === 'describe' && name) {
      const t = await admin.describeTopic(name);
      out(p.global.json ? JSON.stringify(t) : describeText(t));
    } else if (sub === 'delete' && name) {
      await admin.deleteTopic(name);
      out(p.global.json ? JSON.stringify({ deleted: name }) : `deleted topic ${name}`);
    }
  } finally {
    await admin.close();
  }
}
