import {
  type BatchHeader,
  batchSize,
  CorruptBatchError,
  type ErrorFields,
  FencedLeaderEpochError,
  firstKeylessRecord,
  InvalidRecordError,
  isCompacted,
  NotEnoughReplicasError,
  NotLeaderError,
  OffsetNotAvailableError,
  OffsetOutOfRangeError,
  OutOfOrderSequenceError,
  RecordTooLargeError,
  StrandError,
  splitBatches,
  toErrorFields,
} from '@strand/wire';
import type { BrokerMetrics } from './broker-metrics.js';
import type { FetchLease } from './fetch-memory.js';
import { nextStep } from './fetch-wait.js';
import type { Hosted, Partitions } from './partitions.js';
import type { Admission } from './replica/producer-state.js';
import { endOfBatches, partitionName, wallMs } from './replica/replication-trace.js';
import type { FetchRequest, ProduceRequest } from './requests.js';

export interface ProducePartitionResult {
  topic: string;
  partition: number;
  base_offset: number;
  log_start_offset: number;
  error?: ErrorFields;
}

export interface FetchPartitionResult {
  topic: string;
  partition: number;
  high_watermark: number;
  log_start_offset: number;
  log_end_offset: number;
  records: Buffer;
  error?: ErrorFields;
}

const DEFAULT_PARTITION_BYTES = 1024 * 1024;
const DEFAULT_FETCH_BYTES = 50 * 1024 * 1024;
const DEFAULT_ACK_TIMEOUT_MS = 30_000;
/** A fetch waits at least this long for fetch memory before answering with nothing. */
const MIN_MEMORY_WAIT_MS = 100;
const EMPTY = Buffer.alloc(0);

export interface FetchLimits {
  /** The most record bytes one fetch answer holds, whatever the request asks (its first batch aside). */
  maxFetchBytes: number;
  /** The largest batch this broker accepts: no batch on disk can be larger. */
  maxBatchBytes: number;
}

/**
 * Produce and fetch on the partitions this broker leads. The broker reads only batch
 * headers: the log checks every CRC, magic and length and assigns offsets; records are
 * never decoded. A bad partition fails alone, with a typed error, and changes nothing.
 */
export class DataPlane {
  constructor(
    private readonly partitions: Partitions,
    private readonly limits: FetchLimits,
    private readonly metrics: BrokerMetrics,
  ) {}

  async produce(req: ProduceRequest): Promise<ProducePartitionResult[]> {
    const done = this.metrics.produceTimer(req.acks);
    const received = this.partitions.trace ? wallMs() : 0;
    const results = await Promise.all(
      req.partitions.map((p) =>
        this.produceOne(
          p.topic,
          p.partition,
          p.records,
          req.acks,
          req.timeout_ms || DEFAULT_ACK_TIMEOUT_MS,
          received,
        ),
      ),
    );
    done();
    for (const r of results)
      if (r.error)
        this.metrics.error('Produce', r.error, { topic: r.topic, partition: r.partition });
    return results;
  }

  private async produceOne(
    topic: string,
    partition: number,
    records: Buffer,
    acks: number,
    timeoutMs: number,
    received: number,
  ): Promise<ProducePartitionResult> {
    try {
      const h = await this.partitions.leaderWhenOpen(topic, partition);
      // Headers only (the log verifies CRCs once, on append).
      const batches = splitBatches(records, false);
      for (const b of batches) {
        const size = batchSize(b.header);
        if (size > h.config.maxMessageBytes)
          throw new RecordTooLargeError(size, h.config.maxMessageBytes);
      }
      if (isCompacted(h.config)) refuseKeyless(records, topic);
      if (acks === -1 && h.isr.length < h.config.minInsyncReplicas)
        throw new NotEnoughReplicasError(
          `${topic}-${partition} has ${h.isr.length} in-sync replica(s) [${h.isr}], min.insync.replicas is ${h.config.minInsyncReplicas}`,
        );
      const duplicates = batches.map((b) => h.producers.duplicateOf(b.header));
      const repeated = duplicates.filter((d) => d !== undefined).length;
      let base: number;
      let end: number;
      if (repeated > 0) {
        if (repeated !== batches.length)
          throw new OutOfOrderSequenceError(
            'a request mixes retried and new batches of a producer',
          );
        // A retry of batches this partition already has: the original offsets, nothing appended.
        ({ base, end } = spanOf(
          await Promise.all(duplicates as Promise<number>[]),
          batches.map((b) => b.header),
        ));
      } else {
        const admissions = this.admit(
          h,
          batches.map((b) => b.header),
        );
        const r = await h.log
          .append(records, { leaderEpoch: h.leaderEpoch })
          .catch((err: unknown) => {
            for (const a of admissions) a?.failed();
            throw err;
          });
        let next = r.baseOffset;
        batches.forEach((b, i) => {
          admissions[i]?.written(next);
          next += b.header.lastOffsetDelta + 1;
        });
        base = r.baseOffset;
        end = r.lastOffset + 1;
        this.partitions.trace?.appended(partitionName(h), end, received);
        this.partitions.leaderAppended(h);
        this.metrics.produced(topic, records.length, end - base);
      }
      if (acks === -1) {
        await this.partitions.waitForHighWatermark(h, end, timeoutMs);
        // The ISR may have shrunk while waiting: then the watermark passed with fewer copies
        // than acks=all promises (Kafka's NOT_ENOUGH_REPLICAS_AFTER_APPEND). Written: a retry
        // is answered with the same offsets once the ISR is back.
        if (h.isr.length < h.config.minInsyncReplicas)
          throw new NotEnoughReplicasError(
            `${topic}-${partition} is written but its ISR [${h.isr}] shrank below min.insync.replicas ${h.config.minInsyncReplicas}; retry`,
          );
      }
      return { topic, partition, base_offset: base, log_start_offset: h.log.logStartOffset };
    } catch (err) {
      return { topic, partition, base_offset: -1, log_start_offset: -1, error: toErrorFields(err) };
    }
  }

  /** Idempotence checks for every batch; if one is refused, none stays admitted. */
  private admit(h: Hosted, headers: BatchHeader[]): (Admission | undefined)[] {
    const out: (Admission | undefined)[] = [];
    const floor = h.log.writtenOffset;
    try {
      for (const header of headers) out.push(h.producers.admit(header, floor));
    } catch (err) {
      for (const a of out) a?.failed();
      throw err;
    }
    return out;
  }

  /**
   * Long-poll: answers once `min_bytes` are available, or after `max_wait_ms`. The records in
   * the answer are reserved in `lease` (freed once the answer has been sent).
   */
  async fetch(req: FetchRequest, lease: FetchLease): Promise<FetchPartitionResult[]> {
    const fetcher = req.replica_id > 0 ? 'follower' : 'consumer';
    const done = this.metrics.fetchTimer(fetcher);
    const results = await this.longPoll(req, lease);
    done();
    const trace = this.partitions.trace;
    if (trace && req.replica_id > 0)
      for (const r of results)
        if (r.records.length > 0)
          trace.sent(partitionName(r), req.replica_id, endOfBatches(r.records));
    for (const r of results) {
      if (r.error) this.metrics.error('Fetch', r.error, { topic: r.topic, partition: r.partition });
      else this.metrics.fetched(r.topic, fetcher, r.records);
    }
    return results;
  }

  private async longPoll(req: FetchRequest, lease: FetchLease): Promise<FetchPartitionResult[]> {
    if (req.replica_id > 0)
      this.partitions.checkFollower(req.replica_id, req.replica_epoch, req.replica_token);
    const deadline = Date.now() + req.max_wait_ms;
    let newsSince: number | undefined;
    for (;;) {
      const results = await this.readAll(req, lease);
      const bytes = results.reduce((n, r) => n + r.records.length, 0);
      const ready = bytes >= Math.max(1, req.min_bytes) || results.some((r) => r.error);
      const now = Date.now();
      if (newsSince === undefined && this.watermarkNews(req, results)) newsSince = now;
      const step = nextStep({ now, deadline, ready, newsSince });
      if (step.answer) return results;
      lease.unreserve(lease.bytes); // nothing is kept while waiting
      await this.waitForData(req, step.waitMs);
    }
  }

  /**
   * A follower learns the high watermark only from fetch answers, and consumers reading from
   * it wait on what it learns: a watermark newer than the one it knows is worth answering for
   * (after a short hold: `nextStep`).
   */
  private watermarkNews(req: FetchRequest, results: FetchPartitionResult[]): boolean {
    if (req.replica_id === 0) return false;
    return results.some(
      (r, i) => r.high_watermark > (req.partitions[i]?.known_high_watermark ?? r.high_watermark),
    );
  }

  /** This broker's replica, leader or follower, when the consumer accepts a follower's copy. */
  private followerRead(req: FetchRequest, topic: string, partition: number): Hosted | undefined {
    return req.replica_id === 0 && req.allow_follower
      ? this.partitions.replica(topic, partition)
      : undefined;
  }

  /**
   * Every partition's records, at most `max_bytes` in all (capped by the broker's own bound)
   * and each partition's `max_bytes`. A batch never splits: one that does not fit is left for
   * the next fetch, except the answer's first, which comes alone whatever its size (Kafka's
   * KIP-74: a consumer always makes progress).
   */
  private async readAll(req: FetchRequest, lease: FetchLease): Promise<FetchPartitionResult[]> {
    let budget = Math.min(req.max_bytes || DEFAULT_FETCH_BYTES, this.limits.maxFetchBytes);
    let first = true;
    const waitMs = Math.max(req.max_wait_ms, MIN_MEMORY_WAIT_MS);
    const out: FetchPartitionResult[] = [];
    for (const p of req.partitions) {
      const base = { topic: p.topic, partition: p.partition };
      let h: Hosted | undefined;
      try {
        h =
          this.followerRead(req, p.topic, p.partition) ??
          (await this.partitions.leaderWhenOpen(p.topic, p.partition));
        if (req.replica_id > 0) this.checkReplica(h, req.replica_id, p.leader_epoch, p.offset);
        const start = h.log.logStartOffset;
        const end = h.log.writtenOffset;
        // Consumers read below the high watermark; followers copy everything written.
        const upper = req.replica_id > 0 ? end : this.partitions.highWatermark(h);
        if (h.role === 'follower' && p.offset > upper)
          throw new OffsetNotAvailableError(
            `${p.topic}-${p.partition}: this follower knows offsets below ${upper} are committed, not ${p.offset}; the leader may`,
          );
        if (p.offset < start || p.offset > end)
          throw new OffsetOutOfRangeError(p.offset, start, end);
        let records: Buffer = EMPTY;
        if (budget > 0 && p.offset < upper) {
          const max = Math.min(p.max_bytes || DEFAULT_PARTITION_BYTES, budget);
          records = await this.readPartition(h, p.offset, max, upper, first, lease, waitMs);
          budget -= records.length;
          if (records.length > 0) first = false;
        }
        out.push({ ...base, ...this.offsetsOf(h), records });
      } catch (err) {
        const at = h
          ? this.offsetsOf(h)
          : { high_watermark: -1, log_start_offset: -1, log_end_offset: -1 };
        out.push({ ...base, ...at, records: Buffer.alloc(0), error: toErrorFields(err) });
      }
    }
    return out;
  }

  /** Up to `max` bytes of whole batches from `offset`, reserved in `lease` before they are read. */
  private async readPartition(
    h: Hosted,
    offset: number,
    max: number,
    upper: number,
    first: boolean,
    lease: FetchLease,
    waitMs: number,
  ): Promise<Buffer> {
    const read = async (bytes: number): Promise<{ records: Buffer; firstBatchBytes?: number }> => {
      if (!(await lease.reserve(bytes, waitMs))) return { records: EMPTY }; // no room now
      try {
        const r = await h.log.read(offset, bytes, { maxOffset: upper, minOneBatch: false });
        lease.unreserve(bytes - r.records.length);
        return r;
      } catch (err) {
        lease.unreserve(bytes);
        throw err;
      }
    };
    const r = await read(max);
    const size = r.firstBatchBytes;
    if (size === undefined || !first) return r.records;
    if (size > this.limits.maxBatchBytes)
      throw new CorruptBatchError(
        `${h.topic}-${h.partition}: the batch at offset ${offset} claims ${size} bytes, more than any batch this broker accepts (${this.limits.maxBatchBytes})`,
      );
    return (await read(size)).records;
  }

  private offsetsOf(h: Hosted) {
    return {
      high_watermark: this.partitions.highWatermark(h),
      log_start_offset: h.log.logStartOffset,
      log_end_offset: h.log.writtenOffset,
    };
  }

  /** A follower's fetch: it must follow this leader's epoch; its offset is its progress. */
  private checkReplica(h: Hosted, replica: number, epoch: number, offset: number): void {
    // Only a replica copies the log, and only its fetches move the high watermark.
    if (!h.replicas.includes(replica))
      throw new FencedLeaderEpochError(
        `${h.topic}-${h.partition}: broker ${replica} is not one of its replicas [${h.replicas}]`,
      );
    if (epoch < h.leaderEpoch)
      throw new FencedLeaderEpochError(
        `${h.topic}-${h.partition}: replica ${replica} follows epoch ${epoch}, the leader is at ${h.leaderEpoch}`,
      );
    if (epoch > h.leaderEpoch)
      throw new NotLeaderError(
        undefined,
        undefined,
        `${h.topic}-${h.partition}: epoch ${epoch} is newer than this leader's ${h.leaderEpoch}`,
      );
    this.partitions.replicaFetched(h, replica, offset);
  }

  private waitForData(req: FetchRequest, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const hosted: Hosted[] = [];
      const done = () => {
        clearTimeout(timer);
        for (const h of hosted) h.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      for (const p of req.partitions) {
        try {
          const h =
            this.followerRead(req, p.topic, p.partition) ??
            this.partitions.leader(p.topic, p.partition);
          h.waiters.add(done);
          hosted.push(h);
        } catch {
          // Leadership moved meanwhile: the next read reports it.
        }
      }
    });
  }

  async listOffset(
    topic: string,
    partition: number,
    spec: 'LATEST' | 'EARLIEST' | 'TIMESTAMP',
    timestamp: number,
  ): Promise<{
    offset: number;
    found: boolean;
    log_start_offset: number;
    high_watermark: number;
    log_end_offset: number;
    size_bytes: number;
  }> {
    const h = await this.partitions.leaderWhenOpen(topic, partition);
    const hw = this.partitions.highWatermark(h);
    const start = h.log.logStartOffset;
    const cleaner = this.partitions.cleanerProgress(h);
    const at = {
      log_start_offset: start,
      high_watermark: hw,
      log_end_offset: h.log.logEndOffset,
      size_bytes: h.log.sizeBytes,
      ...(cleaner && {
        compacted: true,
        dirty_ratio: cleaner.dirtyRatio,
        cleaned_bytes: cleaner.cleanedBytes,
        last_cleaned_ms: cleaner.lastRunAt ?? 0,
        cleaner_error: cleaner.error ?? '',
      }),
    };
    if (spec === 'EARLIEST') return { offset: start, found: true, ...at };
    if (spec === 'LATEST') return { offset: hw, found: true, ...at };
    const found = await h.log.offsetForTimestamp(timestamp);
    return found === undefined || found >= hw
      ? { offset: hw, found: false, ...at }
      : { offset: Math.max(found, start), found: true, ...at };
  }

  /**
   * Where `epoch` ends in this leader's log (a returning follower truncates to it).
   * `currentEpoch` -1 skips the check that the caller knows this leader's epoch.
   */
  epochEnd(
    topic: string,
    partition: number,
    epoch: number,
    currentEpoch: number,
  ): { leader_epoch: number; end_offset: number } {
    const h = this.partitions.leader(topic, partition);
    if (currentEpoch !== -1 && currentEpoch !== h.leaderEpoch)
      throw new FencedLeaderEpochError(
        `${topic}-${partition}: asked at epoch ${currentEpoch}, the leader is at ${h.leaderEpoch}`,
      );
    const r = h.epochs.endOf(epoch, h.log.writtenOffset);
    return { leader_epoch: r.epoch, end_offset: r.endOffset };
  }
}

/**
 * Where retried batches lie: an answer names one base offset, from which the producer counts
 * each batch's records, so it is only true when the batches were written next to each other.
 * Ones sent in separate requests may have another producer's batches between them: refused,
 * and the producer resends them one at a time.
 */
function spanOf(bases: number[], headers: BatchHeader[]): { base: number; end: number } {
  let end = bases[0]!;
  for (let i = 0; i < headers.length; i++) {
    if (bases[i] !== end)
      throw new OutOfOrderSequenceError(
        `the retried batches were not written next to each other (at ${bases.join(', ')}); send each alone`,
      );
    end += headers[i]!.lastOffsetDelta + 1;
  }
  return { base: bases[0]!, end };
}

/**
 * A compacted topic keeps the latest record per key: a record without one is refused (Kafka's
 * INVALID_RECORD). Its records are decoded here, so records the cleaner could not read later
 * (a CRC that holds over bytes that do not decode) are refused too.
 */
function refuseKeyless(records: Buffer, topic: string): void {
  let keyless: number | undefined;
  try {
    keyless = firstKeylessRecord(records);
  } catch (err) {
    throw err instanceof StrandError
      ? err
      : new CorruptBatchError(`records do not decode: ${(err as Error).message}`);
  }
  if (keyless !== undefined)
    throw new InvalidRecordError(
      `topic ${topic} is compacted (cleanup.policy includes compact): every record needs a key`,
    );
}
