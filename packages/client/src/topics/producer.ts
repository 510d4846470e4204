import {
  checkTopicName,
  InvalidRequestError,
  type StrandError,
  TimeoutError,
  UnknownPartitionError,
  UnknownTopicError,
} from '@strand/wire';
import { clientSecurity } from '../security.js';
import { Accumulator, TopicState } from './accumulator.js';
import { BrokerPool } from './broker-pool.js';
import { MetadataCache } from './metadata-cache.js';
import {
  backoffMs,
  type ProducerOptions,
  producerOptions,
  type ResolvedProducerOptions,
  sleep,
} from './options.js';
import { makePartitioner, type Partitioner } from './partitioner.js';
import type { ProducerBatch } from './producer-batch.js';
import { Sender } from './sender.js';
import type { ProducerRecord, RecordMetadata } from './types.js';

interface Waiting {
  record: ProducerRecord;
  /** Bytes held in the buffer for it while it waits for its topic's metadata. */
  reserved?: number;
  resolve: (m: Promise<RecordMetadata>) => void;
  reject: (err: Error) => void;
  deadline: number;
}

/** About what a record takes in the buffer, before it is encoded. */
function estimateBytes(r: ProducerRecord): number {
  const len = (b: unknown) =>
    typeof b === 'string' ? b.length : ((b as Buffer | null)?.length ?? 0);
  return 16 + len(r.key) + len(r.value);
}

/** A topic never seen gets this long to show up in the metadata (it may be propagating). */
const UNKNOWN_TOPIC_GRACE_MS = 5000;

function isBytes(b: unknown): boolean {
  return typeof b === 'string' || b instanceof Uint8Array;
}

/** Why a record cannot be sent, or undefined. Cheap: this runs for every record. */
function recordProblem(r: ProducerRecord, numPartitions: number): StrandError | undefined {
  if (r.value !== null && !isBytes(r.value))
    return new InvalidRequestError(
      'a record value must be a string, a Buffer, a Uint8Array or null',
    );
  if (r.key !== undefined && r.key !== null && !isBytes(r.key))
    return new InvalidRequestError('a record key must be a string, a Buffer, a Uint8Array or null');
  if (r.timestamp !== undefined && !(Number.isSafeInteger(r.timestamp) && r.timestamp >= 0))
    return new InvalidRequestError(`invalid record timestamp ${r.timestamp}`);
  if (
    r.partition !== undefined &&
    !(Number.isInteger(r.partition) && r.partition >= 0 && r.partition < numPartitions)
  )
    return new UnknownPartitionError(r.topic, r.partition, numPartitions);
  return undefined;
}

/**
 * Sends records to topics: records are batched per partition (see Accumulator), batches
 * for one broker share a request on that broker's ProduceStream (see Sender). `send()`
 * resolves once the record is acknowledged per `acks`.
 *
 * Back-pressure: `writable` turns false when `bufferBytes` of records are unsent or
 * unacknowledged; a `send()` then waits (in order) up to `maxBlockMs` for room.
 */
export class Producer {
  private readonly opts: ResolvedProducerOptions;
  private readonly pool: BrokerPool;
  private readonly metadata: MetadataCache;
  private readonly acc: Accumulator;
  private readonly sender: Sender;
  private readonly partitioner: Partitioner;
  private readonly topics = new Map<string, TopicState>();
  /** Records of topics whose metadata is not known yet, by topic. */
  private readonly waiting = new Map<string, Waiting[]>();
  /** Records waiting for buffer room, in send order. */
  private blocked: Waiting[] = [];
  /** Promises of waiting and blocked records, for flush(). */
  private readonly early = new Set<Promise<unknown>>();
  private blockTimer: NodeJS.Timeout | undefined;
  private pumpArmed = false;
  private closing: Promise<void> | undefined;

  constructor(opts: ProducerOptions) {
    this.opts = producerOptions(opts);
    this.pool = new BrokerPool(
      this.opts.clientId,
      clientSecurity(this.opts, () => this.opts.bootstrap),
      this.opts.connectTimeoutMs,
    );
    this.metadata = new MetadataCache(this.pool, this.opts);
    this.partitioner = makePartitioner(this.opts.partitioner);
    this.acc = new Accumulator(this.opts, this.partitioner, () => this.sender.wake());
    this.sender = new Sender(this.acc, this.metadata, this.pool, this.opts);
    this.metadata.onChange(() => this.growPartitions());
  }

  send(record: ProducerRecord): Promise<RecordMetadata> {
    if (this.closing) return Promise.reject(new InvalidRequestError('the producer is closed'));
    if (this.blocked.length > 0 || !this.acc.writable) return this.block(record);
    return this.sendNow(record);
  }

  /**
   * Sends many records and resolves with their metadata in order, or rejects with the first
   * failure. When the buffer has room and every topic is known, the records go straight into
   * their batches with no promise per record (the fast path for high rates); a call that
   * starts with room appends all of its records, so keep calls to a few thousand records.
   */
  sendBatch(records: ProducerRecord[]): Promise<RecordMetadata[]> {
    if (!this.writable || !records.every((r) => (this.topics.get(r.topic)?.numPartitions ?? 0) > 0))
      return Promise.all(records.map((r) => this.send(r)));
    const placed: { batch: ProducerBatch; index: number }[] = [];
    const batches = new Set<ProducerBatch>();
    try {
      for (const record of records) {
        const t = this.topics.get(record.topic)!;
        const problem = recordProblem(record, t.numPartitions);
        if (problem) throw problem;
        const p = record.partition ?? this.partitioner.choose(record, t.numPartitions, t.slot);
        const b = this.acc.append(
          t.queues[p]!,
          record.timestamp ?? Date.now(),
          record.key,
          record.value,
          record.headers,
        );
        placed.push({ batch: b, index: b.count - 1 });
        batches.add(b);
      }
    } catch (err) {
      // Records appended before the bad one are sent; the caller learns of the bad one.
      return Promise.reject(err);
    }
    const bases = new Map<ProducerBatch, number>();
    return Promise.all(
      [...batches].map((b) => b.promise.then((base) => void bases.set(b, base))),
    ).then(() => placed.map(({ batch, index }) => batch.recordMetadata(bases.get(batch)!, index)));
  }

  /** False while the buffer is full (a send() would wait). */
  get writable(): boolean {
    return !this.closing && this.blocked.length === 0 && this.acc.writable;
  }

  async whenWritable(): Promise<void> {
    while (!this.closing && !this.writable) await this.acc.whenWritable();
  }

  /** Waits until everything sent so far is acknowledged (or failed). */
  async flush(): Promise<void> {
    const early = [...this.early];
    this.acc.sealAll();
    const batches = [...this.acc.incomplete].map((b) => b.promise);
    await Promise.allSettled([...early, ...batches]);
    // Records that waited for metadata or room joined batches after the seal above.
    if (early.length > 0) await this.flush();
  }

  /** Flushes, then releases every connection; later sends reject. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.flush();
      } finally {
        this.sender.close();
        this.acc.close();
        if (this.blockTimer) clearTimeout(this.blockTimer);
        this.pool.close();
      }
    })();
    return this.closing;
  }

  // ---- the record path ----

  private sendNow(record: ProducerRecord): Promise<RecordMetadata> {
    const t = this.topics.get(record.topic);
    if (t === undefined || t.numPartitions === 0) return this.afterMetadata(record);
    try {
      const problem = recordProblem(record, t.numPartitions);
      if (problem) return Promise.reject(problem);
      const p = record.partition ?? this.partitioner.choose(record, t.numPartitions, t.slot);
      const timestamp = record.timestamp ?? Date.now();
      const b = this.acc.append(t.queues[p]!, timestamp, record.key, record.value, record.headers);
      b.expect(b.count - 1);
      return b.promise.then(b.metadata);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The first records of a topic wait for its metadata (partition count, leaders). */
  private afterMetadata(record: ProducerRecord): Promise<RecordMetadata> {
    const name = record.topic;
    let t = this.topics.get(name);
    if (!t) {
      try {
        checkTopicName(name);
      } catch (err) {
        return Promise.reject(err);
      }
      t = new TopicState(name);
      this.topics.set(name, t);
    }
    const state = t;
    return this.track(
      new Promise<RecordMetadata>((resolve, reject) => {
        let list = this.waiting.get(name);
        if (!list) {
          list = [];
          this.waiting.set(name, list);
          this.loadTopic(state).catch(() => {});
        }
        // Waiting records hold buffer room too: a loop of sends to a new topic must meet
        // back-pressure before its metadata arrives, not pile up without bound.
        const reserved = estimateBytes(record);
        this.acc.reserve(reserved);
        list.push({ record, resolve, reject, deadline: 0, reserved });
      }),
    );
  }

  private async loadTopic(t: TopicState): Promise<void> {
    const deadline = Date.now() + Math.min(this.opts.deliveryTimeoutMs, UNKNOWN_TOPIC_GRACE_MS);
    let last: Error | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.metadata.refresh([t.name]);
      } catch (err) {
        last = err as Error;
      }
      const desc = this.metadata.topic(t.name);
      if (desc && desc.partitions.length > 0) {
        t.resize(desc.partitions.length);
        break;
      }
      if (Date.now() >= deadline) {
        const err = this.metadata.problem(t.name) ?? last ?? new UnknownTopicError(t.name);
        for (const w of this.takeWaiting(t.name)) w.reject(err);
        return;
      }
      await sleep(backoffMs(this.opts.retryBackoffMs, attempt));
    }
    for (const w of this.takeWaiting(t.name)) w.resolve(this.sendNow(w.record));
  }

  private takeWaiting(name: string): Waiting[] {
    const list = this.waiting.get(name) ?? [];
    this.waiting.delete(name);
    for (const w of list) this.acc.unreserve(w.reserved ?? 0);
    return list;
  }

  private growPartitions(): void {
    for (const t of this.topics.values()) {
      const n = this.metadata.topic(t.name)?.partitions.length ?? 0;
      if (t.numPartitions > 0 && n > t.numPartitions) t.resize(n);
    }
  }

  // ---- back-pressure ----

  private block(record: ProducerRecord): Promise<RecordMetadata> {
    if (this.opts.maxBlockMs === 0) return Promise.reject(this.noRoom());
    return this.track(
      new Promise<RecordMetadata>((resolve, reject) => {
        this.blocked.push({ record, resolve, reject, deadline: Date.now() + this.opts.maxBlockMs });
        if (this.blocked.length === 1) this.pump();
      }),
    );
  }

  /** Lets blocked records in while there is room; fails those that waited too long. */
  private readonly pump = (): void => {
    if (this.blockTimer) clearTimeout(this.blockTimer);
    this.blockTimer = undefined;
    while (this.blocked.length > 0 && this.acc.writable) {
      const w = this.blocked.shift()!;
      w.resolve(this.sendNow(w.record));
    }
    const now = Date.now();
    while (this.blocked.length > 0 && this.blocked[0]!.deadline <= now) {
      this.blocked.shift()!.reject(this.noRoom());
    }
    const head = this.blocked[0];
    if (!head) return;
    if (!this.pumpArmed) {
      this.pumpArmed = true;
      this.acc.whenWritable().then(() => {
        this.pumpArmed = false;
        this.pump();
      });
    }
    this.blockTimer = setTimeout(this.pump, head.deadline - now);
  };

  private noRoom(): TimeoutError {
    return new TimeoutError(
      `no room in the producer's buffer (${this.opts.bufferBytes} bytes) within ${this.opts.maxBlockMs} ms`,
    );
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.early.add(p);
    const forget = () => this.early.delete(p);
    p.then(forget, forget);
    return p;
  }
}
