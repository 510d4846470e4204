import {
  fromErrorFields,
  type StrandError,
  UnavailableError,
  UnknownPartitionError,
  UnknownTopicError,
} from '@strand/wire';
import type { BrokerPool } from './broker-pool.js';
import { backoffMs, sleep } from './options.js';
import type { TopicDescription } from './types.js';
import { isError, type RawMetadata, toTopicDescription } from './wire-types.js';

export interface MetadataCacheOptions {
  bootstrap: string[];
  requestTimeoutMs: number;
  retryBackoffMs: number;
  metadataMaxAgeMs: number;
}

interface Inflight {
  topics: Set<string>;
  promise: Promise<void>;
}

/**
 * What one client knows of the cluster: brokers (id → address) and, for the topics it uses,
 * partitions with their leaders. Refreshes are single-flight (callers that arrive meanwhile
 * join the refresh in progress, or the one queued right behind it) and spaced by the retry
 * backoff, so a storm of NotLeader answers costs one Metadata request, not one per batch.
 */
export class MetadataCache {
  private readonly brokers = new Map<number, string>();
  private readonly racks = new Map<number, string>();
  private readonly topics = new Map<string, { desc: TopicDescription; at: number }>();
  private readonly missing = new Map<string, StrandError>();
  private readonly wanted = new Set<string>();
  private inflight: Inflight | undefined;
  private queued: Promise<void> | undefined;
  private lastDone = 0;
  private failures = 0;
  private preferred: string | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly pool: BrokerPool,
    private readonly opts: MetadataCacheOptions,
  ) {}

  /** The cached description; a stale one is still returned, and refreshed in the background. */
  topic(name: string): TopicDescription | undefined {
    const t = this.topics.get(name);
    if (t && Date.now() - t.at > this.opts.metadataMaxAgeMs) this.refresh([name]).catch(() => {});
    return t?.desc;
  }

  /** Why the last refresh had no metadata for a topic (UnknownTopicError, ...), if it did not. */
  problem(name: string): StrandError | undefined {
    return this.missing.get(name);
  }

  brokerAddress(id: number): string | undefined {
    return this.brokers.get(id);
  }

  leaderAddress(topic: string, partition: number): string | undefined {
    const p = this.topics.get(topic)?.desc.partitions[partition];
    return p && p.leader >= 0 ? this.brokers.get(p.leader) : undefined;
  }

  /**
   * Where a consumer in `rack` should read the partition: the leader if it is in that rack,
   * else an in-sync replica there; undefined when none is.
   */
  replicaInRack(topic: string, partition: number, rack: string): string | undefined {
    const p = this.topics.get(topic)?.desc.partitions[partition];
    if (!p || p.leader < 0) return undefined;
    const near = [p.leader, ...p.isr].find((b) => this.racks.get(b) === rack);
    return near === undefined ? undefined : this.brokers.get(near);
  }

  /** Brokers to ask for anything a broker answers: the one that answered last, then the rest. */
  addresses(): string[] {
    const all = new Set<string>();
    if (this.preferred) all.add(this.preferred);
    for (const a of this.brokers.values()) all.add(a);
    for (const a of this.opts.bootstrap) all.add(a);
    return [...all];
  }

  /** The topic's description, fetching it if unknown; UnknownTopicError if the cluster has none. */
  async require(name: string): Promise<TopicDescription> {
    const cached = this.topic(name);
    if (cached) return cached;
    await this.refresh([name]);
    const t = this.topics.get(name);
    if (t) return t.desc;
    throw this.missing.get(name) ?? new UnknownTopicError(name);
  }

  async partitionsOf(name: string, partition: number): Promise<TopicDescription> {
    const t = await this.require(name);
    if (partition < 0 || partition >= t.partitions.length) {
      throw new UnknownPartitionError(name, partition, t.partitions.length);
    }
    return t;
  }

  /** Fetches metadata for `topics` (and every topic asked about before). */
  refresh(topics: Iterable<string>): Promise<void> {
    for (const t of topics) this.wanted.add(t);
    const current = this.inflight;
    if (current) {
      if ([...this.wanted].every((t) => current.topics.has(t))) return current.promise;
      this.queued ??= current.promise
        .catch(() => {})
        .then(() => {
          this.queued = undefined;
          return this.refresh([]);
        });
      return this.queued;
    }
    const asked = new Set(this.wanted);
    const wait = this.lastDone + backoffMs(this.opts.retryBackoffMs, this.failures) - Date.now();
    const promise = (async () => {
      if (this.lastDone > 0 && wait > 0) await sleep(wait);
      try {
        this.apply(await this.request([...asked]), asked);
        this.failures = 0;
      } catch (err) {
        this.failures += 1;
        throw err;
      } finally {
        this.lastDone = Date.now();
        this.inflight = undefined;
      }
    })();
    this.inflight = { topics: asked, promise };
    return promise;
  }

  /** One Metadata request (empty: every topic), answered by the first broker that can. */
  async request(topics: string[]): Promise<RawMetadata> {
    let last: StrandError = new UnavailableError('no broker address known');
    for (const address of this.addresses()) {
      try {
        const res = await this.pool.unary<RawMetadata>(
          address,
          'Metadata',
          { topics },
          this.opts.requestTimeoutMs,
        );
        this.preferred = address;
        this.learnBrokers(res);
        return res;
      } catch (err) {
        last = err as StrandError;
        if (!last.retriable) throw last;
      }
    }
    throw last;
  }

  /** Calls `fn` after every update of the cache (e.g. to notice new partitions). */
  onChange(fn: () => void): void {
    this.listeners.add(fn);
  }

  /** Updates the cache from a Metadata answer obtained elsewhere (e.g. Admin.listTopics). */
  apply(res: RawMetadata, asked?: Set<string>): void {
    this.learnBrokers(res);
    const now = Date.now();
    for (const t of res.topics) {
      if (isError(t.error)) {
        this.topics.delete(t.name);
        const e = fromErrorFields(t.error);
        this.missing.set(t.name, e.code === 'UNKNOWN_TOPIC' ? new UnknownTopicError(t.name) : e);
      } else {
        this.topics.set(t.name, { desc: toTopicDescription(t), at: now });
        this.missing.delete(t.name);
      }
    }
    // A topic asked about but absent from the answer does not exist (any more).
    const answered = new Set(res.topics.map((t) => t.name));
    for (const name of asked ?? []) {
      if (!answered.has(name)) {
        this.topics.delete(name);
        this.missing.set(name, new UnknownTopicError(name));
      }
    }
    for (const fn of this.listeners) fn();
  }

  private learnBrokers(res: RawMetadata): void {
    if (res.brokers.length === 0) return;
    this.brokers.clear();
    this.racks.clear();
    for (const b of res.brokers) {
      if (b.fenced) continue;
      this.brokers.set(b.id, b.address);
      if (b.rack) this.racks.set(b.id, b.rack);
    }
  }
}
