import { BATCH_LOG_OVERHEAD, decodeBatch, isControl, lastOffsetOf } from '@strand/wire';
import type { ConsumerRecord } from './types.js';

/**
 * Decodes the batches of one partition's fetch answer into records at or after `position`
 * (a batch may start before it), and says where the next fetch starts: after the last
 * whole batch, even when its records were all skipped (control batches, older records).
 * A batch cut off at the end of the answer (max bytes reached) is left for the next fetch.
 */
export function recordsFrom(
  topic: string,
  partition: number,
  buf: Buffer,
  position: number,
): { records: ConsumerRecord[]; next: number } {
  const records: ConsumerRecord[] = [];
  let next = position;
  let pos = 0;
  while (buf.length - pos >= BATCH_LOG_OVERHEAD) {
    const end = pos + BATCH_LOG_OVERHEAD + buf.readInt32BE(pos + 8);
    if (end > buf.length) break;
    const batch = decodeBatch(buf, pos);
    pos = end;
    const last = lastOffsetOf(batch.header);
    if (last < next) continue;
    next = last + 1;
    if (isControl(batch.header)) continue;
    for (const r of batch.records) {
      if (r.offset < position) continue;
      records.push({
        topic,
        partition,
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers,
      });
    }
  }
  return { records, next };
}
