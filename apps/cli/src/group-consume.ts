import { Consumer, type OffsetAndMetadata } from '@strand/client';
import { checkGroupId, InvalidRequestError } from '@strand/wire';
import { z } from 'zod';
import { clientOptions, intString, type Parsed, parseFlags } from './args.js';
import { type ConsumeOptions, formatRecord, write } from './consume-command.js';

const GroupFlags = z.object({
  group: z.string(),
  'session-timeout-ms': intString(500, 600_000).optional(),
  'group-instance-id': z.string().min(1).max(249).optional(),
});

/**
 * `strand consume TOPIC --group G`: a member of group G. It starts at the group's committed
 * offsets (else at the end, or the beginning with --from-beginning) and commits exactly what
 * it printed, after printing it: at least once, never a record skipped.
 */
export async function runGroupConsume(p: Parsed, o: ConsumeOptions): Promise<void> {
  const f = parseFlags(GroupFlags, p.flags);
  if (o.start.kind === 'offset' || o.start.kind === 'time' || o.partition !== undefined)
    throw new InvalidRequestError(
      '--group takes its start from the committed offsets: --offset, --from-time and --partition do not apply',
    );
  const sessionTimeoutMs = f['session-timeout-ms'] ?? 10_000;
  const consumer = new Consumer({
    ...clientOptions(p),
    ...(o.rack ? { rack: o.rack } : {}),
    groupId: checkGroupId(f.group),
    autoCommit: false,
    autoOffsetReset: o.start.kind === 'beginning' ? 'earliest' : 'latest',
    sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(10, Math.floor(sessionTimeoutMs / 5)),
    ...(f['group-instance-id'] ? { groupInstanceId: f['group-instance-id'] } : {}),
  });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') stop.abort();
  });
  try {
    consumer.subscribe(o.topic);
    let seen = 0;
    while (!stop.signal.aborted) {
      const records = await consumer.poll(500);
      const lines: string[] = [];
      const next = new Map<string, OffsetAndMetadata>();
      for (const r of records) {
        if (o.count !== undefined && seen >= o.count) break;
        lines.push(formatRecord(r, o));
        next.set(`${r.topic}/${r.partition}`, {
          topic: r.topic,
          partition: r.partition,
          offset: r.offset + 1,
        });
        seen += 1;
      }
      if (lines.length > 0 && !(await write(`${lines.join('\n')}\n`))) break;
      if (next.size > 0) await consumer.commit([...next.values()]);
      if (o.count !== undefined && seen >= o.count) break;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await consumer.close().catch(() => undefined);
  }
}
