import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Producer, type ProducerRecord } from '@strand/client';
import { checkTopicName, InvalidRequestError } from '@strand/wire';
import { z } from 'zod';
import {
  acksString,
  clientOptions,
  intString,
  keyValueList,
  need,
  type Parsed,
  parseFlags,
} from './args.js';
import { Progress } from './progress.js';

export const PRODUCE_USAGE =
  'strand produce TOPIC [--file F] [--key-separator SEP] [--header k=v ...] [--partition N] [--acks 0|1|all]';

const ProduceFlags = z.object({
  file: z.string().min(1).optional(),
  'key-separator': z.string().min(1, 'the separator cannot be empty').optional(),
  header: keyValueList.optional(),
  partition: intString(0).optional(),
  acks: acksString.optional(),
});

export interface ProduceOptions {
  topic: string;
  file?: string;
  keySeparator?: string;
  headers: Record<string, string>;
  partition?: number;
  acks: 0 | 1 | 'all';
}

export function parseProduce(args: string[], flags: Parsed['flags']): ProduceOptions {
  const [topic] = need(args, 1, PRODUCE_USAGE) as [string];
  const f = parseFlags(ProduceFlags, flags);
  return {
    topic: checkTopicName(topic),
    ...(f.file !== undefined ? { file: f.file } : {}),
    ...(f['key-separator'] !== undefined ? { keySeparator: f['key-separator'] } : {}),
    headers: f.header ?? {},
    ...(f.partition !== undefined ? { partition: f.partition } : {}),
    acks: f.acks ?? 'all',
  };
}

/**
 * One line → one record. With a separator the text before its first occurrence is the key
 * (a line without it has no key, like kcat -K); without one the whole line is the value.
 */
export function lineToRecord(line: string, o: ProduceOptions): ProducerRecord {
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

/** `strand produce`: every line of stdin (or --file) becomes a record; prints how many were acked. */
export async function runProduce(p: Parsed, out: (line: string) => void): Promise<void> {
  const o = parseProduce(p.command.slice(1), p.flags);
  let total: number | undefined;
  if (o.file !== undefined) {
    try {
      total = statSync(o.file).size;
    } catch (err) {
      throw new InvalidRequestError(`--file: cannot read ${o.file}: ${(err as Error).message}`);
    }
  }
  const input = o.file !== undefined ? createReadStream(o.file) : process.stdin;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  // No progress line while someone types the records into the terminal.
  const progress = new Progress(
    'produced',
    total,
    process.stderr,
    process.stderr.isTTY === true && (o.file !== undefined || !process.stdin.isTTY),
  );
  const producer = new Producer({ ...clientOptions(p), acks: o.acks });

  let sent = 0;
  let acked = 0;
  let ackedBytes = 0;
  let failure: Error | undefined;
  const fail = (err: unknown) => {
    failure ??= err instanceof Error ? err : new Error(String(err));
  };
  try {
    for await (const line of lines) {
      if (failure) break;
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
    const done = `${acked} of ${sent} records were acknowledged`;
    failure.message = `${failure.message} (${done})`;
    throw failure;
  }
  out(
    p.global.json
      ? JSON.stringify({ topic: o.topic, records: acked })
      : `produced ${acked} record${acked === 1 ? '' : 's'} to ${o.topic}`,
  );
}
