import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Admin, Producer, type ProducerRecord } from '@strand/client';
import { checkTopicName, ErrorCode, type StrandError, UnknownTopicError } from '@strand/wire';
import { z } from 'zod';
import { flag } from '../cli/flags.js';
import { command } from '../cli/spec.js';
import { UsageError } from '../cli/usage.js';
import { Progress } from '../progress.js';
import { clientOptions } from './common.js';

/** `0`, `1`, `all` (or `-1`, Kafka's spelling of all). */
export const acksText = z
  .enum(['0', '1', 'all', '-1'], { message: 'must be 0, 1 or all' })
  .transform((a) => (a === '0' ? 0 : a === '1' ? 1 : 'all') as 0 | 1 | 'all');

export interface LineOptions {
  topic: string;
  keySeparator?: string | undefined;
  headers: Record<string, string>;
  partition?: number | undefined;
}

/**
 * One line → one record. With a separator the text before its first occurrence is the key
 * (a line without it has no key, like kcat -K); without one the whole line is the value.
 */
export function lineToRecord(line: string, o: LineOptions): ProducerRecord {
  let key: string | null = null;
  let value = line;
  if (o.keySeparator !== undefined) {
    const i = line.indexOf(o.keySeparator);
    if (i >= 0) {
      key = line.slice(0, i);
      value = line.slice(i + o.keySeparator.length);
    }
  }
  const headers = Object.entries(o.headers).map(([k, v]) => ({ key: k, value: v }));
  return {
    topic: o.topic,
    key,
    value,
    ...(headers.length > 0 ? { headers } : {}),
    ...(o.partition !== undefined ? { partition: o.partition } : {}),
  };
}

/** Makes sure the topic exists before a line is read: a missing one fails at once. */
async function ensureTopic(admin: Admin, topic: string, create: boolean): Promise<void> {
  try {
    await admin.describeTopic(topic);
    return;
  } catch (err) {
    if ((err as StrandError).code !== ErrorCode.UnknownTopic) throw err;
  }
  if (!create)
    throw new UnknownTopicError(
      topic,
      `topic "${topic}" does not exist (create it with \`strand topic create ${topic}\`, or add --create)`,
    );
  await admin.createTopic({ name: topic }).catch((err: StrandError) => {
    if (err.code !== ErrorCode.TopicExists) throw err; // someone else just made it
  });
}

export const produce = command({
  name: 'produce',
  summary: 'append lines of stdin (or a file) to a topic, one record each',
  description:
    'Reads records from stdin (or --file), one per line, and appends them to TOPIC; prints how many were acknowledged. With --key-separator, the text before the first separator is the key (equal keys land in the same partition; a line without it has no key). The topic must exist, unless --create makes it (one partition; `strand topic create` for more).',
  args: [{ name: 'TOPIC', help: 'the topic to append to' }],
  flags: {
    file: flag.string('read the records from this file instead of stdin', { placeholder: 'FILE' }),
    'key-separator': flag.string('split each line into key and value at the first SEP', {
      placeholder: 'SEP',
    }),
    header: flag.pairs('a header on every record'),
    partition: flag.int('send every record to this partition (else by key, or sticky batches)'),
    acks: flag.custom(
      acksText,
      'acknowledgement: 0 (none), 1 (the leader), all (every in-sync replica)',
      {
        placeholder: '0|1|all',
        choices: ['0', '1', 'all'],
        defaultText: 'all',
      },
    ),
    create: flag.bool('create the topic (one partition) if it does not exist'),
  },
  examples: [
    { command: 'seq 1 100 | strand produce events' },
    {
      command: "printf 'user-1:login\\nuser-2:logout\\n' | strand produce events --key-separator :",
      note: 'keys user-1 and user-2, values login and logout',
    },
    { command: 'strand produce events --file records.txt --acks 1 --header source=import' },
  ],
  target: 'brokers',
  check: (ctx) => {
    checkTopicName(ctx.args[0]!);
    if (ctx.flags.file !== undefined) {
      try {
        statSync(ctx.flags.file);
      } catch (err) {
        throw new UsageError(`--file: cannot read ${ctx.flags.file}: ${(err as Error).message}`, [
          'produce',
        ]);
      }
    }
  },
  run: async (ctx) => {
    const f = ctx.flags;
    const topic = ctx.args[0]!;
    const admin = new Admin(clientOptions(ctx));
    try {
      await ensureTopic(admin, topic, f.create);
    } finally {
      await admin.close();
    }
    const fromTerminal = f.file === undefined && process.stdin.isTTY === true;
    if (fromTerminal) ctx.out.note(`strand: type records for ${topic}, one per line; Ctrl-D ends`);
    const input = f.file !== undefined ? createReadStream(f.file) : process.stdin;
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    // No progress line while someone types the records into the terminal.
    const progress = new Progress(
      'produced',
      f.file !== undefined ? statSync(f.file).size : undefined,
      process.stderr,
      process.stderr.isTTY === true && !fromTerminal,
    );
    const producer = new Producer({ ...clientOptions(ctx), acks: f.acks ?? 'all' });
    const o: LineOptions = {
      topic,
      keySeparator: f['key-separator'],
      headers: f.header ?? {},
      partition: f.partition,
    };
    let sent = 0;
    let acked = 0;
    let ackedBytes = 0;
    let failure: Error | undefined;
    const fail = (err: unknown) => {
      failure ??= err instanceof Error ? err : new Error(String(err));
    };
    try {
      for await (const line of lines) {
        if (failure || ctx.signal.aborted) break;
        if (!producer.writable) await producer.whenWritable();
        if (failure) break;
        const size = Buffer.byteLength(line) + 1;
        producer.send(lineToRecord(line, o)).then(() => {
          acked += 1;
          ackedBytes += size;
          progress.update(acked, ackedBytes);
        }, fail);
        sent += 1;
      }
      if (!failure) await producer.flush().catch(fail);
    } catch (err) {
      fail(err);
    } finally {
      lines.close();
      progress.finish();
      await producer.close().catch(() => undefined);
    }
    if (failure) {
      failure.message = `${failure.message} (${acked} of ${sent} records were acknowledged)`;
      throw failure;
    }
    if (sent === 0)
      ctx.out.note(`strand: the input had no lines: nothing was produced to ${topic}`);
    ctx.out.result(
      { topic, records: acked },
      `produced ${acked} record${acked === 1 ? '' : 's'} to ${topic}`,
    );
    return 0;
  },
});
