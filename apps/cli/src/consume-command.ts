import { Admin, Consumer, type ConsumerRecord, type TopicPartition } from '@strand/client';
import { checkTopicName, InvalidRequestError, UnknownPartitionError } from '@strand/wire';
import { z } from 'zod';
import { clientOptions, intString, need, type Parsed, parseFlags, timeString } from './args.js';
import { runGroupConsume } from './group-consume.js';
import { Progress } from './progress.js';

export const CONSUME_USAGE = `strand consume TOPIC [--from-beginning | --offset N | --from-time T] [--partition N]
    [--count N] [--follow] [--format value|kv|json] [--key-separator SEP] [--rack R]
    [--group G [--session-timeout-ms MS] [--group-instance-id ID]]`;

const ConsumeFlags = z
  .object({
    'from-beginning': z.boolean().optional(),
    offset: intString(0).optional(),
    'from-time': timeString.optional(),
    partition: intString(0).optional(),
    count: intString(1).optional(),
    follow: z.boolean().optional(),
    format: z.enum(['value', 'kv', 'json'], { message: 'must be value, kv or json' }).optional(),
    'key-separator': z.string().min(1, 'the separator cannot be empty').optional(),
    rack: z.string().min(1, 'the rack cannot be empty').optional(),
  })
  .refine(
    (f) =>
      [f['from-beginning'], f.offset !== undefined, f['from-time'] !== undefined].filter(Boolean)
        .length <= 1,
    { message: 'give at most one of --from-beginning, --offset and --from-time' },
  );

export type StartAt =
  | { kind: 'end' }
  | { kind: 'beginning' }
  | { kind: 'offset'; offset: number }
  | { kind: 'time'; timestamp: number };

export interface ConsumeOptions {
  topic: string;
  start: StartAt;
  partition?: number;
  count?: number;
  /**
   * Keep waiting for new records (until --count records or Ctrl-C). Starting at the end (the
   * default) and --count imply it; otherwise the command stops at the end offsets (high
   * watermarks) it saw when it started.
   */
  follow: boolean;
  format: 'value' | 'kv' | 'json';
  keySeparator: string;
  /** Read from in-sync replicas in this rack where there are some (the SDK's `rack`). */
  rack?: string;
}

export function parseConsume(
  args: string[],
  flags: Parsed['flags'],
  json: boolean,
): ConsumeOptions {
  const [topic] = need(args, 1, CONSUME_USAGE.replace(/\s+/g, ' ')) as [string];
  const f = parseFlags(ConsumeFlags, flags);
  const start: StartAt = f['from-beginning']
    ? { kind: 'beginning' }
    : f.offset !== undefined
      ? { kind: 'offset', offset: f.offset }
      : f['from-time'] !== undefined
        ? { kind: 'time', timestamp: f['from-time'] }
        : { kind: 'end' };
  if (json && f.format !== undefined && f.format !== 'json')
    throw new InvalidRequestError(`--json conflicts with --format ${f.format}`);
  return {
    topic: checkTopicName(topic),
    start,
    ...(f.partition !== undefined ? { partition: f.partition } : {}),
    ...(f.count !== undefined ? { count: f.count } : {}),
    follow: f.follow === true || f.count !== undefined || start.kind === 'end',
    format: json ? 'json' : (f.format ?? 'value'),
    keySeparator: f['key-separator'] ?? '\t',
    ...(f.rack !== undefined ? { rack: f.rack } : {}),
  };
}

const text = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));

/** One output line for a record. */
export function formatRecord(
  r: ConsumerRecord,
  o: Pick<ConsumeOptions, 'format' | 'keySeparator'>,
): string {
  switch (o.format) {
    case 'json':
      return JSON.stringify({
        key: text(r.key),
        value: text(r.value),
        partition: r.partition,
        offset: r.offset,
        timestamp: r.timestamp,
        headers: r.headers.map((h) => ({ key: h.key, value: text(h.value) })),
      });
    case 'kv':
      return `${text(r.key) ?? 'null'}${o.keySeparator}${text(r.value) ?? 'null'}`;
    default:
      return text(r.value) ?? 'null';
  }
}

/** Writes to stdout, waiting when the pipe is full; false once the reader went away (EPIPE). */
export async function write(chunk: string): Promise<boolean> {
  if (process.stdout.destroyed) return false;
  if (process.stdout.write(chunk)) return true;
  await new Promise<void>((done) => {
    const end = () => {
      process.stdout.off('drain', end);
      process.stdout.off('close', end);
      done();
    };
    process.stdout.once('drain', end);
    process.stdout.once('close', end);
  });
  return !process.stdout.destroyed;
}

/**
 * `strand consume`: prints records of a topic, one per line. Stops after --count records, at
 * the end offsets seen at the start (not following), or on Ctrl-C (following); exits 0.
 */
export async function runConsume(p: Parsed): Promise<void> {
  const o = parseConsume(p.command.slice(1), p.flags, p.global.json);
  if (p.flags.group !== undefined) return runGroupConsume(p, o);
  const admin = new Admin(clientOptions(p));
  let consumer: Consumer | undefined;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // `strand consume ... | head`: the reader leaving is a normal end, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') stop.abort();
  });
  const progress = new Progress(
    'consumed',
    undefined,
    process.stderr,
    process.stderr.isTTY === true && !process.stdout.isTTY,
  );
  try {
    const topic = await admin.describeTopic(o.topic);
    const count = topic.partitions.length;
    if (o.partition !== undefined && o.partition >= count)
      throw new UnknownPartitionError(o.topic, o.partition, count);
    const partitions =
      o.partition !== undefined
        ? [o.partition]
        : topic.partitions.map((x) => x.partition).sort((a, b) => a - b);

    // Where each partition starts, and (when not following) where it ends.
    const latest = new Map(
      (await admin.listOffsets(o.topic, 'latest')).map((x) => [x.partition, x]),
    );
    const byTime =
      o.start.kind === 'time'
        ? new Map(
            (await admin.listOffsets(o.topic, { timestamp: o.start.timestamp })).map((x) => [
              x.partition,
              x.offset,
            ]),
          )
        : undefined;
    const ends = new Map<number, number>();
    const assignment = partitions.map((partition) => {
      const l = latest.get(partition);
      const hw = l?.highWatermark ?? 0;
      const logStart = l?.logStartOffset ?? 0;
      ends.set(partition, hw);
      let offset: number;
      switch (o.start.kind) {
        case 'beginning':
          offset = logStart;
          break;
        case 'offset':
          offset = Math.min(Math.max(o.start.offset, logStart), hw);
          break;
        case 'time': {
          const t = byTime?.get(partition);
          offset = t === undefined || t < 0 ? hw : t;
          break;
        }
        default:
          offset = hw;
      }
      return { topic: o.topic, partition, offset };
    });

    consumer = new Consumer({
      ...clientOptions(p),
      autoOffsetReset: 'earliest',
      ...(o.rack ? { rack: o.rack } : {}),
    });
    consumer.assign(assignment);
    const done = new Set<number>();
    const checkDone = (tp: TopicPartition) => {
      if (o.follow || done.has(tp.partition)) return;
      const position = consumer?.position(tp) ?? 0;
      if (position >= (ends.get(tp.partition) ?? 0)) {
        done.add(tp.partition);
        consumer?.pause([tp]);
      }
    };
    for (const tp of assignment) checkDone(tp);

    let seen = 0;
    while (!stop.signal.aborted && done.size < partitions.length) {
      const records = await consumer.poll(500);
      const lines: string[] = [];
      for (const r of records) {
        if (!o.follow && r.offset >= (ends.get(r.partition) ?? 0)) continue;
        lines.push(formatRecord(r, o));
        seen += 1;
        if (o.count !== undefined && seen >= o.count) break;
      }
      if (lines.length > 0 && !(await write(`${lines.join('\n')}\n`))) break;
      progress.update(seen);
      if (o.count !== undefined && seen >= o.count) break;
      for (const tp of assignment) checkDone(tp);
    }
  } finally {
    progress.finish();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await consumer?.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}
