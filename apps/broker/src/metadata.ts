import type { KeyValue, KvClient, WatchEvent } from '@strand/client';
import type { Logger } from '@strand/ops';
import {
  type BrokerRecord,
  BrokerRecords,
  decodeRecord,
  MetaKeys,
  type PartitionRecord,
  PartitionRecords,
  parseMetaKey,
  type RecordKind,
  type StrandError,
  type TopicRecord,
  TopicRecords,
} from '@strand/wire';

/**
 * This broker's view of the cluster metadata: every record under `/strand/` in the KV store,
 * loaded once and then kept current by a watch (never by polling). `revision` is the KV
 * revision of the newest change applied.
 */
export class MetadataCache {
  revision = 0;
  /** Loaded and followed by a live watch (false until start() and while reloading). */
  live = false;
  readonly brokers = new Map<number, BrokerRecord>();
  readonly topics = new Map<string, TopicRecord>();
  readonly partitions = new Map<string, Map<number, PartitionRecord>>();
  /**
   * Topics whose record does not decode. Their last good record (if any) stays in use, and
   * their data on disk is never taken for an orphan's.
   */
  readonly malformedTopics = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private readonly revisionWaiters = new Set<{ revision: number; done: () => void }>();
  private readonly abort = new AbortController();

  constructor(
    private readonly kv: KvClient,
    private readonly log: Logger,
    /** Hears every other record under /strand/ (users, ACLs): its value, or undefined when deleted. */
    private readonly onOtherRecord: (key: string, value: Buffer | undefined) => void = () => {},
  ) {}

  async start(): Promise<void> {
    const { kvs, revision } = await this.kv.range(MetaKeys.root);
    // Replaced only once the new state is at hand: meanwhile the old one keeps serving.
    this.brokers.clear();
    this.topics.clear();
    this.partitions.clear();
    this.malformedTopics.clear();
    for (const kv of kvs) this.apply('put', kv);
    this.live = true;
    this.advance(revision);
    void this.follow(revision + 1);
  }

  /**
   * start(), tried again for as long as the coordinators cannot answer (not started yet, or
   * still electing a leader): a broker started before them, or with them, waits for them.
   * A refusal (unauthenticated, unauthorised) is no reason to wait and fails at once.
   */
  async startWhenReachable(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.start();
        return;
      } catch (err) {
        if (!(err as StrandError).retriable || this.abort.signal.aborted) throw err;
        this.log.warn({ err, attempt }, 'waiting for the coordinators: none could answer yet');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  stop(): void {
    this.abort.abort();
  }

  /** Called after every batch of changes is applied. */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** Resolves true once changes up to `revision` are applied, false after `timeoutMs`. */
  waitFor(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.revision >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        revision,
        done: () => {
          clearTimeout(timer);
          this.revisionWaiters.delete(waiter);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.revisionWaiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      this.revisionWaiters.add(waiter);
    });
  }

  partition(topic: string, partition: number): PartitionRecord | undefined {
    return this.partitions.get(topic)?.get(partition);
  }

  private async follow(from: number): Promise<void> {
    try {
      for await (const events of this.kv.watch(MetaKeys.root, {
        prefix: true,
        fromRevision: from,
        signal: this.abort.signal,
      })) {
        let top = this.revision;
        for (const e of events) {
          this.apply(e.type, e.kv, e);
          top = Math.max(top, e.kv.modRevision);
        }
        this.advance(top);
      }
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.live = false;
      // A compacted history (or another fatal watch error): reload everything, until it works.
      this.log.warn({ err, revision: this.revision }, 'metadata watch failed; reloading');
      for (let attempt = 0; !this.abort.signal.aborted; attempt++) {
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** Math.min(attempt, 4))));
        try {
          await this.start();
          return;
        } catch (e) {
          if (attempt % 10 === 0) this.log.warn({ err: e, attempt }, 'metadata reload failed');
        }
      }
    }
  }

  private advance(revision: number): void {
    this.revision = Math.max(this.revision, revision);
    for (const l of this.listeners) l();
    for (const w of [...this.revisionWaiters]) if (w.revision <= this.revision) w.done();
  }

  private apply(type: WatchEvent['type'], kv: KeyValue, _event?: WatchEvent): void {
    const text = kv.key.toString('utf8');
    const key = parseMetaKey(text);
    if (!key) {
      this.onOtherRecord(text, type === 'put' ? kv.value : undefined);
      return;
    }
    // A record that does not decode is logged and skipped: the last good one stays in use.
    const decode = <T>(kind: RecordKind<T>): T | undefined => {
      const r = decodeRecord(kind, kv);
      if (r.ok) return r.record;
      this.log.warn(
        { key: kv.key.toString(), revision: kv.modRevision, reason: r.error },
        'ignoring a malformed metadata record',
      );
      return undefined;
    };
    switch (key.kind) {
      case 'broker': {
        if (type === 'delete') this.brokers.delete(key.id);
        const b = type === 'put' ? decode(BrokerRecords) : undefined;
        if (b) this.brokers.set(key.id, b);
        break;
      }
      case 'topic': {
        this.malformedTopics.delete(key.name);
        if (type === 'delete') {
          this.topics.delete(key.name);
          this.partitions.delete(key.name);
          break;
        }
        const t = decode(TopicRecords);
        if (t) this.topics.set(key.name, t);
        else this.malformedTopics.add(key.name);
        break;
      }
      case 'partition': {
        if (type === 'delete') {
          this.partitions.get(key.topic)?.delete(key.partition);
          break;
        }
        const p = decode(PartitionRecords);
        if (!p) break;
        let parts = this.partitions.get(key.topic);
        if (!parts) {
          parts = new Map();
          this.partitions.set(key.topic, parts);
        }
        parts.set(key.partition, p);
        break;
      }
    }
  }
}
