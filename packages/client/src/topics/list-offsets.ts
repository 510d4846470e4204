import { fromErrorFields, type StrandError, UnavailableError } from '@strand/wire';
import type { BrokerPool } from './broker-pool.js';
import type { MetadataCache } from './metadata-cache.js';
import { backoffMs, RETRIABLE_CODES, sleep } from './options.js';
import type { TopicPartition } from './types.js';
import { isError, type RawListOffsetsResult } from './wire-types.js';

export type OffsetSpec = 'earliest' | 'latest' | { timestamp: number };

export interface ListOffsetsContext {
  pool: BrokerPool;
  metadata: MetadataCache;
  requestTimeoutMs: number;
  retries: number;
  retryBackoffMs: number;
}

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/**
 * Offsets of partitions per `spec`, each asked of its leader (one request per broker),
 * retried on the errors a leader change or propagating metadata causes.
 */
export async function listOffsets(
  ctx: ListOffsetsContext,
  tps: TopicPartition[],
  spec: OffsetSpec,
): Promise<Map<string, RawListOffsetsResult>> {
  const out = new Map<string, RawListOffsetsResult>();
  let todo = tps;
  let last: StrandError = new UnavailableError('no leader known');
  for (let attempt = 0; todo.length > 0; attempt++) {
    if (attempt > ctx.retries) throw last;
    if (attempt > 0) {
      await sleep(backoffMs(ctx.retryBackoffMs, attempt - 1));
      await ctx.metadata.refresh(new Set(todo.map((tp) => tp.topic))).catch(() => {});
    } else {
      for (const topic of new Set(todo.map((tp) => tp.topic))) await ctx.metadata.require(topic);
    }
    const byAddress = new Map<string, TopicPartition[]>();
    const again: TopicPartition[] = [];
    for (const tp of todo) {
      const address = ctx.metadata.leaderAddress(tp.topic, tp.partition);
      if (!address) {
        again.push(tp);
        continue;
      }
      byAddress.set(address, [...(byAddress.get(address) ?? []), tp]);
    }
    await Promise.all(
      [...byAddress].map(async ([address, list]) => {
        const req = {
          partitions: list.map((tp) => ({
            topic: tp.topic,
            partition: tp.partition,
            spec: spec === 'earliest' ? 'EARLIEST' : spec === 'latest' ? 'LATEST' : 'TIMESTAMP',
            timestamp: typeof spec === 'object' ? spec.timestamp : 0,
          })),
        };
        try {
          const res = await ctx.pool.unary<{ partitions: RawListOffsetsResult[] }>(
            address,
            'ListOffsets',
            req,
            ctx.requestTimeoutMs,
          );
          for (const tp of list) {
            const r = res.partitions.find(
              (x) => x.topic === tp.topic && x.partition === tp.partition,
            );
            if (r && !isError(r.error)) {
              out.set(tpKey(tp.topic, tp.partition), r);
              continue;
            }
            const e = r?.error
              ? fromErrorFields(r.error)
              : new UnavailableError(`no offsets for ${tp.topic}-${tp.partition}`);
            if (!RETRIABLE_CODES.has(e.code)) throw e;
            last = e;
            again.push(tp);
          }
        } catch (err) {
          const e = err as StrandError;
          if (!e.retriable && !RETRIABLE_CODES.has(e.code)) throw e;
          last = e;
          again.push(...list.filter((tp) => !out.has(tpKey(tp.topic, tp.partition))));
        }
      }),
    );
    todo = again;
  }
  return out;
}
