import {
  AuthenticationFailedError,
  AuthorizationFailedError,
  ErrorCode,
  fromErrorFields,
  NotLeaderError,
  type StrandError,
  stampProducer,
  TimeoutError,
} from '@strand/wire';
import type { Accumulator, PartitionQueue } from './accumulator.js';
import type { BrokerPool } from './broker-pool.js';
import type { MetadataCache } from './metadata-cache.js';
import { backoffMs, RETRIABLE_CODES } from './options.js';
import { type ProduceRequest, ProduceStream } from './produce-stream.js';
import type { ProducerBatch } from './producer-batch.js';
import { isError, type RawProducePartitionResult, type RawProduceResponse } from './wire-types.js';

export interface SenderOptions {
  acks: number;
  idempotent: boolean;
  requestTimeoutMs: number;
  retries: number;
  retryBackoffMs: number;
  deliveryTimeoutMs: number;
  maxInFlight: number;
}

/**
 * A broker's gRPC server takes 4 MiB messages unless configured otherwise: requests stay
 * below that (a single larger batch still goes, alone).
 */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024 - 64 * 1024;

interface Sent {
  q: PartitionQueue;
  batches: ProducerBatch[];
}

/**
 * Moves sealed batches to partition leaders: all ready batches of one broker go in one
 * ProduceRequest on that broker's stream, at most `maxInFlight` requests per broker.
 *
 * Order: a partition normally pipelines (several of its batches in flight, on one stream, so
 * the broker appends them in order). After a retriable failure the partition switches to one
 * batch at a time, resending in order, until every retried batch has succeeded. Batches that
 * were already in flight behind the failed one may still land first: without idempotence
 * ordering across a retry is best effort, as in Kafka with max.in.flight > 1.
 */
export class Sender {
  private readonly streams = new Map<string, ProduceStream>();
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The idempotent producer's identity, once the cluster gave it. */
  private producer: { id: number; epoch: number } | undefined;
  private initializing = false;

  constructor(
    private readonly acc: Accumulator,
    private readonly metadata: MetadataCache,
    private readonly pool: BrokerPool,
    private readonly opts: SenderOptions,
  ) {}

  /** Runs a drain at the end of this turn of the event loop (many seals, one drain). */
  wake(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private wakeIn(ms: number): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.drain();
    }, ms);
  }

  private drain(): void {
    if (this.closed) return;
    if (this.opts.idempotent && !this.producer) {
      // Nothing leaves before the producer id is known, but records still time out.
      if (this.acc.readyQueues.size === 0) return;
      this.initProducer();
      for (const q of this.acc.readyQueues) this.expire(q, Date.now());
      this.wakeIn(this.opts.retryBackoffMs);
      return;
    }
    const now = Date.now();
    const byAddress = new Map<string, PartitionQueue[]>();
    const needMetadata = new Set<string>();
    let waitMs = Number.POSITIVE_INFINITY;
    for (const q of this.acc.readyQueues) {
      this.expire(q, now);
      if (q.ready.length === 0) {
        this.acc.readyQueues.delete(q);
        continue;
      }
      if (q.retrying && q.inFlight > 0) continue;
      if (q.backoffUntil > now) {
        waitMs = Math.min(waitMs, q.backoffUntil - now);
        continue;
      }
      const address = this.metadata.leaderAddress(q.topic.name, q.partition);
      if (!address) {
        needMetadata.add(q.topic.name);
        continue;
      }
      const list = byAddress.get(address);
      if (list) list.push(q);
      else byAddress.set(address, [q]);
    }
    for (const [address, queues] of byAddress) this.sendTo(address, queues);
    if (needMetadata.size > 0) {
      this.metadata.refresh(needMetadata).then(
        () => this.wake(),
        () => this.wakeIn(this.opts.retryBackoffMs),
      );
      waitMs = Math.min(waitMs, this.opts.retryBackoffMs);
    }
    if (waitMs !== Number.POSITIVE_INFINITY) this.wakeIn(waitMs);
  }

  /** Fails the batches at the head of `q` that ran out of delivery time before being sent. */
  private expire(q: PartitionQueue, now: number): void {
    while (q.ready.length > 0 && now - q.ready[0]!.createdAt >= this.opts.deliveryTimeoutMs) {
      this.fail(
        q,
        q.ready.shift()!,
        new TimeoutError(`record not delivered within ${this.opts.deliveryTimeoutMs} ms`),
      );
    }
  }

  /**
   * Asks any broker (which asks the controller) for a producer id; retries until it has one,
   * unless refused for good (not authorized, not authenticated): then the records waiting
   * fail with that error, and the next records ask again.
   */
  private initProducer(): void {
    if (this.initializing) return;
    this.initializing = true;
    const tryOnce = (attempt: number) => {
      if (this.closed) return;
      const addresses = this.metadata.addresses();
      const address = addresses[attempt % addresses.length]!;
      this.pool
        .unary<{ producer_id: number; producer_epoch: number }>(
          address,
          'InitProducerId',
          {},
          this.opts.requestTimeoutMs,
        )
        .then(
          (r) => {
            this.producer = { id: r.producer_id, epoch: r.producer_epoch };
            this.initializing = false;
            this.wake();
          },
          (err: unknown) => {
            if (
              err instanceof AuthorizationFailedError ||
              err instanceof AuthenticationFailedError
            ) {
              this.initializing = false;
              for (const q of this.acc.readyQueues)
                for (const b of q.ready.splice(0)) this.fail(q, b, err);
              return;
            }
            setTimeout(() => tryOnce(attempt + 1), backoffMs(this.opts.retryBackoffMs, attempt));
          },
        );
    };
    tryOnce(0);
  }

  private stream(address: string): ProduceStream {
    let s = this.streams.get(address);
    if (!s || s.broken) {
      const client = this.pool.client(address);
      s = new ProduceStream(
        () => (client.ProduceStream as () => never)(),
        // The broker waits up to requestTimeoutMs for acks=all; leave room for its answer.
        this.opts.requestTimeoutMs + 5000,
      );
      this.streams.set(address, s);
    }
    return s;
  }

  private sendTo(address: string, queues: PartitionQueue[]): void {
    let stream: ProduceStream;
    try {
      stream = this.stream(address);
    } catch {
      return; // closed meanwhile
    }
    let i = 0;
    while (i < queues.length && stream.inFlight < this.opts.maxInFlight) {
      const sent: Sent[] = [];
      const partitions: ProduceRequest['partitions'] = [];
      let bytes = 0;
      for (; i < queues.length; i++) {
        const q = queues[i]!;
        if ((q.retrying || q.sequenceGap) && q.inFlight > 0) continue;
        const take = this.take(q, MAX_REQUEST_BYTES - bytes, bytes === 0);
        if (take.length === 0) break; // no room left in this request
        const records =
          take.length === 1 ? take[0]!.data! : Buffer.concat(take.map((b) => b.data!));
        bytes += records.length;
        q.inFlight++;
        partitions.push({ topic: q.topic.name, partition: q.partition, records });
        sent.push({ q, batches: take });
        if (q.ready.length > 0 && !q.retrying) break; // the request is full; q continues next
      }
      if (sent.length === 0) break;
      for (const s of sent) if (s.q.ready.length === 0) this.acc.readyQueues.delete(s.q);
      const req = { acks: this.opts.acks, timeout_ms: this.opts.requestTimeoutMs, partitions };
      stream.send(req).then(
        (res) => this.answered(sent, res),
        (err: StrandError) => this.failed(sent, err),
      );
    }
  }

  /** The batches of `q` to send now: one while retrying, otherwise as many as fit. */
  private take(q: PartitionQueue, room: number, first: boolean): ProducerBatch[] {
    const out: ProducerBatch[] = [];
    if (q.sequenceGap) {
      // Answers still due may be OUT_OF_ORDER_SEQUENCE: they come back here to be renumbered.
      if (q.inFlight > 0) return out;
      q.sequenceGap = false;
      q.epochBump++;
      q.nextSequence = 0;
      this.failMaybeWritten(q);
    }
    let bytes = 0;
    while (q.ready.length > 0) {
      const b = q.ready[0]!;
      const size = b.data!.length;
      if (bytes + size > room && !(first && out.length === 0)) break;
      q.ready.shift();
      const epoch = this.producer && this.producer.epoch + q.epochBump;
      if (this.producer && epoch !== undefined && b.stampedEpoch !== epoch) {
        // Sequences follow the order batches first leave at an epoch; a retry at the same
        // epoch resends the same bytes.
        stampProducer(b.data!, this.producer.id, epoch, q.nextSequence);
        b.stampedEpoch = epoch;
        q.nextSequence += b.count;
      }
      b.attempts++;
      out.push(b);
      bytes += size;
      if (q.retrying) break;
    }
    return out;
  }

  /**
   * Before a partition's batches are renumbered at a new epoch: those the log may already
   * hold fail with the error that left them unresolved (as Kafka's producer does), rather
   * than be written twice. Their sequences are behind the new epoch: no gap to get past.
   */
  private failMaybeWritten(q: PartitionQueue): void {
    const unresolved = q.ready.filter((b) => b.stampedEpoch !== undefined && b.maybeWritten);
    for (const b of unresolved) {
      q.ready.splice(q.ready.indexOf(b), 1);
      b.reject(b.maybeWritten!);
      this.acc.release(b);
    }
  }

  private answered(sent: Sent[], res: RawProduceResponse | undefined): void {
    for (let i = 0; i < sent.length; i++) {
      const { q, batches } = sent[i]!;
      q.inFlight--;
      if (res === undefined) {
        for (const b of batches) this.complete(b, -1);
        continue;
      }
      if (isError(res.error)) {
        this.retryOrFail(q, batches, fromErrorFields(res.error));
        continue;
      }
      const r = findResult(res.partitions, i, q);
      if (!r) {
        this.retryOrFail(
          q,
          batches,
          fromErrorFields({ code: ErrorCode.Internal, message: 'no answer for the partition' }),
        );
      } else if (isError(r.error)) {
        this.retryOrFail(q, batches, fromErrorFields(r.error));
      } else {
        let offset = r.base_offset;
        for (const b of batches) {
          this.complete(b, offset);
          offset += b.count;
        }
        // Retried batches go one at a time until none is left: an answer names one base
        // offset, which holds for several batches only if they were written side by side.
        if (q.inFlight === 0) q.retrying = (q.ready[0]?.attempts ?? 0) > 0;
      }
    }
    for (const { q } of sent) this.acc.answered(q);
    this.wake();
  }

  private failed(sent: Sent[], err: StrandError): void {
    for (const { q, batches } of sent) {
      q.inFlight--;
      this.retryOrFail(q, batches, err);
    }
    for (const { q } of sent) this.acc.answered(q);
    this.wake();
  }

  private retryOrFail(q: PartitionQueue, batches: ProducerBatch[], err: StrandError): void {
    const retriable = err.retriable || RETRIABLE_CODES.has(err.code);
    const now = Date.now();
    let retried = 0;
    for (const b of batches) {
      if (!NOT_WRITTEN.has(err.code)) b.maybeWritten = err;
      if (
        !retriable ||
        this.closed ||
        b.attempts > this.opts.retries ||
        now - b.createdAt >= this.opts.deliveryTimeoutMs
      ) {
        this.fail(q, b, err);
      } else {
        q.requeue(b);
        retried = Math.max(retried, b.attempts);
      }
    }
    if (retried === 0) return;
    q.retrying = true;
    this.acc.readyQueues.add(q);
    // A NotLeader answer that names the new leader needs no wait, only fresh metadata, the
    // first time: brokers that disagree while leadership moves would otherwise bounce it back
    // and forth without a pause.
    const hinted =
      err instanceof NotLeaderError && err.leaderAddress !== undefined && retried === 1;
    q.backoffUntil = hinted ? 0 : now + backoffMs(this.opts.retryBackoffMs, retried - 1);
    const leaderBefore = this.metadata.leaderAddress(q.topic.name, q.partition);
    this.metadata.refresh([q.topic.name]).then(
      () => {
        // A new leader (a dead one names none) is worth trying at once, not after the backoff.
        const leader = this.metadata.leaderAddress(q.topic.name, q.partition);
        if (leader !== undefined && leader !== leaderBefore) q.backoffUntil = 0;
        this.wake();
      },
      () => this.wakeIn(this.opts.retryBackoffMs),
    );
  }

  private complete(b: ProducerBatch, baseOffset: number): void {
    b.resolve(baseOffset);
    this.acc.release(b);
  }

  /** A batch fails for good; one that had a sequence number leaves a gap to get past. */
  private fail(q: PartitionQueue, b: ProducerBatch, err: Error): void {
    if (b.stampedEpoch !== undefined) q.sequenceGap = true;
    b.reject(err);
    this.acc.release(b);
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
  }
}

/**
 * Errors a leader answers before it appends anything: the attempt was not written. Any other
 * failure (no answer, a timeout, NOT_ENOUGH_REPLICAS after the append) may have been.
 */
const NOT_WRITTEN: ReadonlySet<string> = new Set<string>([
  ErrorCode.NotLeader,
  ErrorCode.UnknownTopic,
  ErrorCode.UnknownPartition,
  ErrorCode.FencedLeaderEpoch,
  ErrorCode.OutOfOrderSequence,
]);

function findResult(
  results: RawProducePartitionResult[],
  index: number,
  q: PartitionQueue,
): RawProducePartitionResult | undefined {
  const guess = results[index];
  if (guess && guess.partition === q.partition && guess.topic === q.topic.name) return guess;
  return results.find((r) => r.partition === q.partition && r.topic === q.topic.name);
}
