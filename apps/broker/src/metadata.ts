import type { KeyValue, KvClient, WatchEvent } from '@strand/client';
import {
  type BrokerRecord,
  BrokerRecordSchema,
  decodeRecord,
  MetaKeys,
  type PartitionRecord,
  PartitionRecordSchema,
  parseMetaKey,
  type TopicRecord,
  TopicRecordSchema,
} from '@strand/wire';

/**
 * This broker's view of the cluster metadata: every record under `/strand/` in the KV store,
 * loaded once and then kept current by a watch (never by polling). `revision` is the KV
 * revision of the newest change applied.
 */
export class MetadataCache {
  revision = 0;
  readonly brokers = new Map<number, BrokerRecord>();
  readonly topics = new Map<string, TopicRecord>();
  readonly partitions = new Map<string, Map<number, PartitionRecord>>();
  private readonly listeners = new Set<() => void>();
  private readonly revisionWaiters = new Set<{ revision: number; done: () => void }>();
  private readonly abort = new AbortController();

  constructor(
    private readonly kv: KvClient,
    private readonly log: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    const { kvs, revision } = await this.kv.range(MetaKeys.root);
    for (const kv of kvs) this.apply('put', kv);
    this.advance(revision);
    void this.follow(revision + 1);
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
      // A compacted history (or another fatal watch error): reload everything.
      this.log(`metadata watch failed (${(err as Error).message}); reloading`);
      this.brokers.clear();
      this.topics.clear();
      this.partitions.clear();
      await new Promise((r) => setTimeout(r, 200));
      await this.start().catch(() => undefined);
    }
  }

  private advance(revision: number): void {
    this.revision = Math.max(this.revision, revision);
    for (const l of this.listeners) l();
    for (const w of [...this.revisionWaiters]) if (w.revision <= this.revision) w.done();
  }

  private apply(type: WatchEvent['type'], kv: KeyValue, _event?: WatchEvent): void {
    const key = parseMetaKey(kv.key.toString('utf8'));
    if (!key) return;
    try {
      switch (key.kind) {
        case 'broker':
          if (type === 'delete') this.brokers.delete(key.id);
          else this.brokers.set(key.id, decodeRecord(BrokerRecordSchema, kv.value));
          break;
        case 'topic':
          if (type === 'delete') {
            this.topics.delete(key.name);
            this.partitions.delete(key.name);
          } else this.topics.set(key.name, decodeRecord(TopicRecordSchema, kv.value));
          break;
        case 'partition': {
          let parts = this.partitions.get(key.topic);
          if (type === 'delete') {
            parts?.delete(key.partition);
            break;
          }
          if (!parts) {
            parts = new Map();
            this.partitions.set(key.topic, parts);
          }
          parts.set(key.partition, decodeRecord(PartitionRecordSchema, kv.value));
          break;
        }
      }
    } catch (err) {
      this.log(
        `ignoring a malformed metadata record ${kv.key.toString()}: ${(err as Error).message}`,
      );
    }
  }
}
