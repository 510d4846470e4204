import { Admin, Consumer, type ConsumerRecord, type TopicPartition } from '@strand/client';
import { checkGroupId, checkTopicName, UnknownPartitionError } from '@strand/wire';
import { flag } from '../cli/flags.js';
import type { Output } from '../cli/output.js';
import { type Context, command } from '../cli/spec.js';
import { UsageError } from '../cli/usage.js';
import { Progress } from '../progress.js';
import { clientOptions } from './common.js';

export type RecordFormat = 'value' | 'kv' | 'json';

const text = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));

/** A record as data (what json and yaml print). */
export function recordData(r: ConsumerRecord) {
  return {
    key: text(r.key),
    value: text(r.value),
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    headers: r.headers.map((h) => ({ key: h.key, value: text(h.value) })),
  };
}

/** One output line for a record. */
export function formatRecord(
  r: ConsumerRecord,
  o: { format: RecordFormat; keySeparator: string },
): string {
  switch (o.format) {
    case 'json':
      return JSON.stringify(recordData(r));
    case 'kv':
      return `${text(r.key) ?? 'null'}${o.keySeparator}${text(r.value) ?? 'null'}`;
    default:
      return text(r.value) ?? 'null';
  }
}

const consumeFlags = {
  'from-beginning': flag.bool('start at the oldest record kept'),
  offset: flag.int('start at this offset (in every partition read)'),
  'from-time': flag.time(
    'start at the first record at or after this time (ms since the epoch or ISO date)',
  ),
  partition: flag.int('read only this partition'),
  count: flag.int('stop after N records (and wait for them)', { min: 1 }),
  follow: flag.bool('keep waiting for new records (Ctrl-C ends)'),
  format: flag.choice(
    ['value', 'kv', 'json'],
    'how each record is printed: its value, key SEP value, or JSON',
    {
      default: 'value',
    },
  ),
  'key-separator': flag.string('what --format kv puts between key and value', {
    placeholder: 'SEP',
    defaultText: 'a tab',
  }),
  rack: flag.string('read from in-sync replicas in this rack where there are some', {
    placeholder: 'RACK',
  }),
  group: flag.string(
    'read as a member of consumer group G (its committed offsets; commits what it printed)',
    {
      placeholder: 'G',
    },
  ),
  'session-timeout-ms': flag.int('with --group: a member silent this long leaves the group', {
    min: 500,
    max: 600_000,
    default: 10_000,
    placeholder: 'MS',
  }),
  'group-instance-id': flag.string(
    'with --group: a static member id (a restart keeps its partitions)',
    {
      placeholder: 'ID',
    },
  ),
};

type Flags = Context<typeof consumeFlags>['flags'];

interface Plan {
  format: RecordFormat;
  keySeparator: string;
  follow: boolean;
}

function plan(ctx: Context<typeof consumeFlags>): Plan {
  const f = ctx.flags;
  const format: RecordFormat = ctx.out.format === 'table' ? f.format : 'json';
  return {
    format,
    keySeparator: f['key-separator'] ?? '\t',
    follow: f.follow || f.count !== undefined || startOf(f) === 'end',
  };
}

const startOf = (f: Flags) =>
  f['from-beginning']
    ? 'beginning'
    : f.offset !== undefined
      ? 'offset'
      : f['from-time'] !== undefined
        ? 'time'
        : 'end';

/** Prints records; false once the reader left. json and yaml print the data, else the line. */
function print(out: Output, records: ConsumerRecord[], p: Plan): Promise<boolean> {
  return out.items(records.map((r) => ({ data: recordData(r), text: formatRecord(r, p) })));
}

export const consume = command({
  name: 'consume',
  summary: 'print records of a topic, one per line',
  description:
    "Prints the records of TOPIC, one value per line (or key SEP value, or JSON). By default it starts at the end and follows; with a start point it stops at the end offsets seen when it started, unless --follow or --count N. With --group G it joins consumer group G: it starts at the group's committed offsets (else at the end, or the beginning with --from-beginning) and commits what it printed, so several of them share the partitions.",
  args: [{ name: 'TOPIC', help: 'the topic to read' }],
  flags: consumeFlags,
  examples: [
    { command: 'strand consume events --from-beginning --count 5' },
    {
      command: 'strand consume events --from-beginning --format json',
      note: 'key, value, partition, offset, timestamp, headers',
    },
    { command: 'strand consume events --partition 2 --offset 100' },
    {
      command: 'strand consume events --group billing --from-beginning',
      note: 'run several: they share the partitions',
    },
  ],
  target: 'brokers',
  check: ({ args, flags: f }) => {
    checkTopicName(args[0]!);
    const starts = [f['from-beginning'], f.offset !== undefined, f['from-time'] !== undefined];
    if (starts.filter(Boolean).length > 1)
      throw new UsageError('give at most one of --from-beginning, --offset and --from-time', [
        'consume',
      ]);
    if (f.group !== undefined) {
      checkGroupId(f.group);
      if (f.offset !== undefined || f['from-time'] !== undefined || f.partition !== undefined)
        throw new UsageError(
          '--group takes its start from the committed offsets: --offset, --from-time and --partition do not apply',
          ['consume'],
        );
    }
  },
  run: (ctx) => {
    if (
      ctx.out.format !== 'table' &&
      ctx.flags.format !== 'value' &&
      ctx.flags.format !== ctx.out.format
    )
      throw new UsageError(`-o ${ctx.out.format} conflicts with --format ${ctx.flags.format}`, [
        'consume',
      ]);
    return ctx.flags.group !== undefined ? consumeInGroup(ctx) : consumeAssigned(ctx);
  },
});

/** Where each partition starts, and where it ends when not following. */
async function startingPoints(admin: Admin, topic: string, partitions: number[], f: Flags) {
  const latest = new Map((await admin.listOffsets(topic, 'latest')).map((x) => [x.partition, x]));
  const at = f['from-time'];
  const byTime =
    at !== undefined
      ? new Map(
          (await admin.listOffsets(topic, { timestamp: at })).map((x) => [x.partition, x.offset]),
        )
      : undefined;
  const ends = new Map<number, number>();
  const assignment = partitions.map((partition) => {
    const l = latest.get(partition);
    const hw = l?.highWatermark ?? 0;
    const logStart = l?.logStartOffset ?? 0;
    ends.set(partition, hw);
    let offset = hw;
    if (f['from-beginning']) offset = logStart;
    else if (f.offset !== undefined) offset = Math.min(Math.max(f.offset, logStart), hw);
    else if (byTime) {
      const t = byTime.get(partition);
      offset = t === undefined || t < 0 ? hw : t;
    }
    return { topic, partition, offset };
  });
  return { assignment, ends };
}

/** Reads assigned partitions (no group): stops at --count, at the ends seen, or on a signal. */
async function consumeAssigned(ctx: Context<typeof consumeFlags>): Promise<number> {
  const f = ctx.flags;
  const p = plan(ctx);
  const topicName = ctx.args[0]!;
  const admin = new Admin(clientOptions(ctx));
  let consumer: Consumer | undefined;
  const stop = () => void consumer?.close();
  ctx.signal.addEventListener('abort', stop);
  const progress = new Progress(
    'consumed',
    undefined,
    process.stderr,
    process.stderr.isTTY === true && !process.stdout.isTTY,
  );
  try {
    const topic = await admin.describeTopic(topicName);
    const count = topic.partitions.length;
    if (f.partition !== undefined && f.partition >= count)
      throw new UnknownPartitionError(topicName, f.partition, count);
    const partitions =
      f.partition !== undefined
        ? [f.partition]
        : topic.partitions.map((x) => x.partition).sort((a, b) => a - b);
    const { assignment, ends } = await startingPoints(admin, topicName, partitions, f);

    consumer = new Consumer({
      ...clientOptions(ctx),
      autoOffsetReset: 'earliest',
      ...(f.rack ? { rack: f.rack } : {}),
    });
    if (ctx.signal.aborted) return 0;
    consumer.assign(assignment);
    const done = new Set<number>();
    const checkDone = (tp: TopicPartition) => {
      if (p.follow || done.has(tp.partition)) return;
      if ((consumer?.position(tp) ?? 0) >= (ends.get(tp.partition) ?? 0)) {
        done.add(tp.partition);
        consumer?.pause([tp]);
      }
    };
    for (const tp of assignment) checkDone(tp);

    let seen = 0;
    while (!ctx.signal.aborted && done.size < partitions.length) {
      const polled = await consumer.poll(500);
      const batch: ConsumerRecord[] = [];
      for (const r of polled) {
        if (!p.follow && r.offset >= (ends.get(r.partition) ?? 0)) continue;
        batch.push(r);
        seen += 1;
        if (f.count !== undefined && seen >= f.count) break;
      }
      if (!(await print(ctx.out, batch, p))) break;
      progress.update(seen);
      if (f.count !== undefined && seen >= f.count) break;
      for (const tp of assignment) checkDone(tp);
    }
    return 0;
  } finally {
    ctx.signal.removeEventListener('abort', stop);
    progress.finish();
    await consumer?.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}

/**
 * `--group G`: a member of group G. It starts at the group's committed offsets (else at the
 * end, or the beginning with --from-beginning) and commits exactly what it printed, after
 * printing it: at least once, never a record skipped. A signal closes the consumer at once,
 * even while the coordinators are away and it is still trying to join.
 */
async function consumeInGroup(ctx: Context<typeof consumeFlags>): Promise<number> {
  const f = ctx.flags;
  const p = plan(ctx);
  const sessionTimeoutMs = f['session-timeout-ms'];
  const consumer = new Consumer({
    ...clientOptions(ctx),
    ...(f.rack ? { rack: f.rack } : {}),
    groupId: f.group!,
    autoCommit: false,
    autoOffsetReset: f['from-beginning'] ? 'earliest' : 'latest',
    sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(10, Math.floor(sessionTimeoutMs / 5)),
    ...(f['group-instance-id'] ? { groupInstanceId: f['group-instance-id'] } : {}),
  });
  const stop = () => void consumer.close();
  ctx.signal.addEventListener('abort', stop);
  try {
    consumer.subscribe(ctx.args[0]!);
    let seen = 0;
    while (!ctx.signal.aborted) {
      const polled = await consumer.poll(500);
      const batch = f.count !== undefined ? polled.slice(0, f.count - seen) : polled;
      const next = new Map<string, { topic: string; partition: number; offset: number }>();
      for (const r of batch)
        next.set(`${r.topic}/${r.partition}`, {
          topic: r.topic,
          partition: r.partition,
          offset: r.offset + 1,
        });
      seen += batch.length;
      if (!(await print(ctx.out, batch, p))) break;
      if (next.size > 0 && !ctx.signal.aborted) await consumer.commit([...next.values()]);
      if (f.count !== undefined && seen >= f.count) break;
    }
    return 0;
  } finally {
    ctx.signal.removeEventListener('abort', stop);
    await consumer.close().catch(() => undefined);
  }
}
