import {
  batchSize,
  type ErrorFields,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  splitBatches,
  toErrorFields,
} from '@strand/wire';
import type { Hosted, Partitions } from './partitions.js';
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
  records: Buffer;
  error?: ErrorFields;
}

const DEFAULT_PARTITION_BYTES = 1024 * 1024;
const DEFAULT_FETCH_BYTES = 50 * 1024 * 1024;

/**
 * Produce and fetch on the partitions this broker leads. The broker reads only batch
 * headers: the log checks every CRC, magic and length and assigns offsets; records are
 * never decoded. A bad partition fails alone, with a typed error, and changes nothing.
 */
export class DataPlane {
  constructor(private readonly partitions: Partitions) {}

  produce(req: ProduceRequest): Promise<ProducePartitionResult[]> {
    return Promise.all(req.partitions.map((p) => this.produceOne(p.topic, p.partition, p.records)));
  }

  private async produceOne(
    topic: string,
    partition: number,
    records: Buffer,
  ): Promise<ProducePartitionResult> {
    try {
      const h = await this.partitions.leaderWhenOpen(topic, partition);
      // Headers only (the log verifies CRCs once, on append).
      for (const b of splitBatches(records, false)) {
        const size = batchSize(b.header);
        if (size > h.config.maxMessageBytes)
          throw new RecordTooLargeError(size, h.config.maxMessageBytes);
      }
      const r = await h.log.append(records, { leaderEpoch: h.leaderEpoch });
      this.partitions.notifyAppend(h);
      return {
        topic,
        partition,
        base_offset: r.baseOffset,
        log_start_offset: h.log.logStartOffset,
      };
    } catch (err) {
      return { topic, partition, base_offset: -1, log_start_offset: -1, error: toErrorFields(err) };
    }
  }

  /** Long-poll: answers once `min_bytes` are available, or after `max_wait_ms`. */
  async fetch(req: FetchRequest): Promise<FetchPartitionResult[]> {
    const deadline = Date.now() + req.max_wait_ms;
    for (;;) {
      const results = await this.readAll(req);
      const bytes = results.reduce((n, r) => n + r.records.length, 0);
      const failed = results.some((r) => r.error);
      const left = deadline - Date.now();
      if (failed || bytes >= Math.max(1, req.min_bytes) || left <= 0) return results;
      await this.waitForData(req, left);
    }
  }

  private async readAll(req: FetchRequest): Promise<FetchPartitionResult[]> {
    let budget = req.max_bytes || DEFAULT_FETCH_BYTES;
    const out: FetchPartitionResult[] = [];
    for (const p of req.partitions) {
      const base = { topic: p.topic, partition: p.partition };
      try {
        const h = await this.partitions.leaderWhenOpen(p.topic, p.partition);
        const hw = this.partitions.highWatermark(h);
        const start = h.log.logStartOffset;
        if (p.offset < start || p.offset > hw) throw new OffsetOutOfRangeError(p.offset, start, hw);
        let records: Buffer = Buffer.alloc(0);
        if (budget > 0 && p.offset < hw) {
          const max = Math.min(p.max_bytes || DEFAULT_PARTITION_BYTES, budget);
          records = (await h.log.read(p.offset, max, { maxOffset: hw })).records;
          budget -= records.length;
        }
        out.push({ ...base, high_watermark: hw, log_start_offset: start, records });
      } catch (err) {
        out.push({
          ...base,
          high_watermark: -1,
          log_start_offset: -1,
          records: Buffer.alloc(0),
          error: toErrorFields(err),
        });
      }
    }
    return out;
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
          const h = this.partitions.leader(p.topic, p.partition);
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
  ): Promise<{ offset: number; found: boolean; log_start_offset: number; high_watermark: number }> {
    const h = await this.partitions.leaderWhenOpen(topic, partition);
    const hw = this.partitions.highWatermark(h);
    const start = h.log.logStartOffset;
    const at = { log_start_offset: start, high_watermark: hw };
    if (spec === 'EARLIEST') return { offset: start, found: true, ...at };
    if (spec === 'LATEST') return { offset: hw, found: true, ...at };
    const found = await h.log.offsetForTimestamp(timestamp);
    return found === undefined || found >= hw
      ? { offset: hw, found: false, ...at }
      : { offset: Math.max(found, start), found: true, ...at };
  }
}
