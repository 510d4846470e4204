import { InvalidRequestError } from '@strand/wire';
import { z } from 'zod';
import type { Cluster } from './clients.js';
import { matches, type ShownRecord, showRecord } from './values.js';

/** The message browser's query (from the page's form). */
export const BrowseQuery = z.object({
  /** '' or 'all': every partition; else one. */
  partition: z
    .string()
    .regex(/^(all|\d{1,6})?$/, 'a partition number, or all')
    .default('all'),
  from: z.enum(['beginning', 'end', 'offset', 'timestamp']).default('beginning'),
  offset: z.coerce.number().int().min(0).default(0),
  /** `datetime-local` (YYYY-MM-DDTHH:MM) or ISO 8601. */
  timestamp: z.string().default(''),
  filter: z.string().max(1000).default(''),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type BrowseQuery = z.infer<typeof BrowseQuery>;

/** How long a browse reads at most: a page shows what arrived by then. */
const BROWSE_MS = 3000;

function startOf(q: BrowseQuery): number | undefined {
  if (q.from !== 'timestamp') return undefined;
  const t = Date.parse(q.timestamp);
  if (!Number.isFinite(t)) throw new InvalidRequestError(`"${q.timestamp}" is not a date and time`);
  return t;
}

/**
 * Up to `limit` records of `topic` matching the filter, from where the query says, in offset
 * order per partition. "end" shows the last `limit` records of each partition. Reads until it
 * reaches each partition's end (as it was when asked) or the time runs out.
 */
export async function browse(
  c: Cluster,
  topic: string,
  q: BrowseQuery,
): Promise<{ records: ShownRecord[]; partitions: number[] }> {
  const desc = await c.admin.describeTopic(topic);
  const all = desc.partitions.map((p) => p.partition);
  const partitions = q.partition === 'all' || q.partition === '' ? all : [Number(q.partition)];
  for (const p of partitions)
    if (!all.includes(p))
      throw new InvalidRequestError(`${topic} has no partition ${p} (it has ${all.length})`);
  const latest = new Map((await c.admin.listOffsets(topic, 'latest')).map((o) => [o.partition, o]));
  const timestamp = startOf(q);
  const consumer = c.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 200 });
  try {
    const tps = partitions.map((partition) => ({ topic, partition }));
    consumer.assign(tps);
    for (const tp of tps) {
      const o = latest.get(tp.partition)!;
      if (q.from === 'beginning') consumer.seek(tp, o.logStartOffset);
      else if (q.from === 'end') consumer.seek(tp, Math.max(o.logStartOffset, o.offset - q.limit));
      else if (q.from === 'offset') consumer.seek(tp, Math.max(o.logStartOffset, q.offset));
    }
    if (timestamp !== undefined) await consumer.seekToTimestamp(timestamp, tps);
    const out: ShownRecord[] = [];
    const deadline = Date.now() + BROWSE_MS;
    const done = () =>
      tps.every((tp) => (consumer.position(tp) ?? 0) >= (latest.get(tp.partition)?.offset ?? 0));
    while (out.length < q.limit && !done() && Date.now() < deadline) {
      for (const r of await consumer.poll(200)) {
        const shown = showRecord(r);
        if (out.length < q.limit && matches(shown, q.filter)) out.push(shown);
      }
    }
    out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    return { records: out, partitions: all };
  } finally {
    await consumer.close();
  }
}
