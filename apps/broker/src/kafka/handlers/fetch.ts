import { Fetch, KafkaProtocolError, type ResponseOf } from '@strand/kafka-protocol';
import { type FetchRequest, MAX_FETCH_PARTITIONS } from '../../requests.js';
import type { KafkaDeps } from '../deps.js';
import { handler } from '../handler.js';
import { kafkaCodeOf } from './errors.js';

type PartitionOut = ResponseOf<typeof Fetch>['responses'][number]['partitions'][number];

/** A long poll waits at most this long, whatever the client asks. */
const MAX_WAIT_MS = 60_000;
const EMPTY = Buffer.alloc(0);
/** Consumers prove nothing: only followers carry a broker token. */
const NO_TOKEN = Buffer.alloc(0);
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * Fetch v4+ through the data plane's consumer path: whole stored batches from the one holding
 * the offset, at least one even above the byte limits, only below the high watermark, long
 * polls on max_wait/min_bytes. No transactions here, so the last stable offset is the high
 * watermark and nothing is aborted. No fetch sessions either (session id 0: clients then send
 * full fetches). With a rack (v11+), the leader points a consumer at an in-sync replica in its
 * rack (preferred_read_replica), and any replica serves v11+ consumers up to its watermark.
 * The answer is bounded as a gRPC fetch's is (--max-fetch-bytes, each partition's max bytes),
 * and its records are reserved in the broker's fetch memory until they have been written to
 * the client's socket.
 */
export const fetch = handler(Fetch, {
  authorization: {
    topics: {
      kind: 'fetch',
      request: { list: 'topics', name: 'topic', partitions: 'partitions', index: 'partition' },
      response: {
        list: 'responses',
        name: 'topic',
        partitions: 'partitions',
        index: 'partitionIndex',
      },
      refused: { highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: EMPTY },
    },
  },
  async handle(req, { deps, header, connectionId, afterSent }) {
    const wanted = distinct(
      req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, p, preferred: -1 }))),
    );
    if (wanted.length > MAX_FETCH_PARTITIONS)
      throw new KafkaProtocolError(
        `a fetch of ${wanted.length} partitions (at most ${MAX_FETCH_PARTITIONS})`,
      );
    const fromFollowers = header.apiVersion >= 11;
    if (fromFollowers && req.rackId)
      for (const w of wanted)
        w.preferred = preferredReplica(deps, w.topic, w.p.partition, req.rackId);
    const redirected = wanted.some((w) => w.preferred >= 0);
    const request: FetchRequest = {
      // Told to go elsewhere, a consumer should hear so at once, not after a long poll.
      max_wait_ms: redirected ? 0 : clamp(req.maxWaitMs, 0, MAX_WAIT_MS),
      min_bytes: Math.max(0, req.minBytes),
      max_bytes: Math.max(1, req.maxBytes),
      partitions: wanted.map((w) => ({
        topic: w.topic,
        partition: w.p.partition,
        offset: w.p.fetchOffset,
        max_bytes: Math.max(1, w.p.partitionMaxBytes),
        leader_epoch: 0,
        known_high_watermark: 0,
      })),
      replica_id: 0,
      replica_epoch: 0,
      replica_token: NO_TOKEN,
      allow_follower: fromFollowers,
    };
    const lease = deps.fetchMemory.lease(connectionId);
    afterSent(() => lease.release());
    const results = wanted.length > 0 ? await deps.data.fetch(request, lease) : [];
    const responses: { topic: string; partitions: Partial<PartitionOut>[] }[] = [];
    results.forEach((r, i) => {
      const w = wanted[i]!;
      let topic = responses[responses.length - 1];
      if (topic?.topic !== w.topic) {
        topic = { topic: w.topic, partitions: [] };
        responses.push(topic);
      }
      topic.partitions.push({
        partitionIndex: w.p.partition,
        errorCode: r.error ? kafkaCodeOf(r.error) : 0,
        highWatermark: r.high_watermark,
        lastStableOffset: r.high_watermark,
        logStartOffset: r.log_start_offset,
        abortedTransactions: [],
        preferredReadReplica: w.preferred,
        records: w.preferred >= 0 ? EMPTY : r.records,
      });
    });
    return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses };
  },
});

/**
 * Each partition once, where it first appears: a partition listed again would be read (and
 * answered) again, any number of times. Kafka's broker keeps one entry per partition too.
 */
function distinct<T extends { topic: string; p: { partition: number } }>(wanted: T[]): T[] {
  const seen = new Set<string>();
  return wanted.filter((w) => {
    const k = `${w.topic}\u0000${w.p.partition}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * An in-sync replica in the consumer's rack, when this broker leads the partition and is not
 * in that rack itself; -1 otherwise (read here).
 */
function preferredReplica(deps: KafkaDeps, topic: string, partition: number, rack: string): number {
  const rec = deps.meta.partition(topic, partition);
  if (!rec || rec.leader !== deps.brokerId) return -1;
  const rackOf = (id: number) => {
    const b = deps.meta.brokers.get(id);
    return b && !b.fenced ? b.rack : undefined;
  };
  if (rackOf(deps.brokerId) === rack) return -1;
  return rec.isr.find((id) => id !== deps.brokerId && rackOf(id) === rack) ?? -1;
}
