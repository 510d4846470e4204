import { type Logger, type Metrics, throttle } from '@strand/ops';
import { type ErrorFields, Offsets } from '@strand/wire';
import type { Hosted } from './partitions.js';

export type Fetcher = 'consumer' | 'follower';
const ACKS: Record<number, string> = { 0: '0', 1: '1', [-1]: 'all' };
/** A kind of refusal (request kind and error code) is logged at most this often. */
const REFUSAL_LOG_EVERY_MS = 5000;

/** Records in a buffer of whole batches, from their headers alone. */
export function countRecords(buf: Buffer): number {
  let n = 0;
  for (let pos = 0; pos + Offsets.recordCount + 4 <= buf.length; ) {
    n += buf.readInt32BE(pos + Offsets.recordCount);
    pos += 12 + buf.readInt32BE(pos + Offsets.batchLength);
  }
  return n;
}

/** What the broker's metrics read at scrape time: state it keeps anyway. */
export interface BrokerState {
  hosted(): Iterable<Hosted>;
  /** Registered, at this epoch, and not fenced (as far as this broker knows). */
  registered(): boolean;
  metadataRevision(): number;
  connectionsOpen(): number;
  /** The log cleaner: bytes it cleaned since start, and a replica's dirty ratio (compacted only). */
  cleanedBytes(): number;
  dirtyRatio(h: Hosted): number | undefined;
}

/**
 * The broker's own metrics (beside Node's defaults), all named `strand_broker_…` or
 * `strand_log_…`, labelled by topic at most. Counters and histograms move where the data plane
 * does its work (these methods); gauges are set at scrape time by one pass over the hosted
 * partitions, so a broker with thousands of partitions pays nothing between scrapes.
 */
export class BrokerMetrics {
  private readonly bytesIn;
  private readonly recordsIn;
  private readonly bytesOut;
  private readonly recordsOut;
  private readonly produceSeconds;
  private readonly fetchSeconds;
  private readonly errors;
  private readonly isrShrinks;
  private readonly isrExpands;
  private readonly flushSeconds;
  private readonly refusalDue = throttle(REFUSAL_LOG_EVERY_MS);

  constructor(
    private readonly m: Metrics,
    /** Refused requests are logged here, with their reason (a few per kind and period). */
    private readonly log?: Logger,
  ) {
    this.bytesIn = m.counter(
      'broker_bytes_in_total',
      'Bytes produced to partitions this broker leads',
      ['topic'],
    );
    this.recordsIn = m.counter(
      'broker_records_in_total',
      'Records produced to partitions this broker leads',
      ['topic'],
    );
    this.bytesOut = m.counter(
      'broker_bytes_out_total',
      'Bytes fetched from this broker, by consumers or by follower replicas',
      ['topic', 'fetcher'],
    );
    this.recordsOut = m.counter(
      'broker_records_out_total',
      'Records fetched from this broker, by consumers or by follower replicas',
      ['topic', 'fetcher'],
    );
    this.produceSeconds = m.histogram(
      'broker_produce_duration_seconds',
      'Produce requests, from arrival to answer (acks=all includes waiting for the ISR)',
      ['acks'],
    );
    this.fetchSeconds = m.histogram(
      'broker_fetch_duration_seconds',
      'Fetch requests, from arrival to answer (including the long-poll wait)',
      ['fetcher'],
    );
    this.errors = m.counter(
      'broker_request_errors_total',
      'Errors answered, per request kind and error code (one per partition that failed)',
      ['api', 'code'],
    );
    this.isrShrinks = m.counter(
      'broker_isr_shrinks_total',
      'Followers this leader removed from an ISR',
    );
    this.isrExpands = m.counter(
      'broker_isr_expands_total',
      'Followers this leader added back to an ISR',
    );
    this.flushSeconds = m.histogram(
      'log_flush_duration_seconds',
      'Log flushes (fsync of the segments written since the last one)',
    );
  }

  produced(topic: string, bytes: number, records: number): void {
    this.bytesIn.inc({ topic }, bytes);
    this.recordsIn.inc({ topic }, records);
  }

  fetched(topic: string, fetcher: Fetcher, records: Buffer): void {
    if (records.length === 0) return;
    this.bytesOut.inc({ topic, fetcher }, records.length);
    this.recordsOut.inc({ topic, fetcher }, countRecords(records));
  }

  /** Starts timing a produce request; the returned function ends it. */
  produceTimer(acks: number): () => void {
    const end = this.produceSeconds.startTimer({ acks: ACKS[acks] ?? String(acks) });
    return () => void end();
  }

  fetchTimer(fetcher: Fetcher): () => void {
    const end = this.fetchSeconds.startTimer({ fetcher });
    return () => void end();
  }

  /** A request (or one partition of it) refused: counted, and logged with its reason. */
  error(api: string, e: ErrorFields, where?: { topic: string; partition: number }): void {
    this.errors.inc({ api, code: e.code });
    const skipped = this.log ? this.refusalDue(`${api}\u0000${e.code}`) : undefined;
    if (skipped !== undefined)
      this.log?.info(
        { api, code: e.code, reason: e.message, ...where, ...(skipped ? { skipped } : {}) },
        'refused a request',
      );
  }

  isrChanged(before: readonly number[], after: readonly number[]): void {
    const removed = before.filter((b) => !after.includes(b)).length;
    const added = after.filter((b) => !before.includes(b)).length;
    if (removed > 0) this.isrShrinks.inc(removed);
    if (added > 0) this.isrExpands.inc(added);
  }

  flushed(seconds: number): void {
    this.flushSeconds.observe(seconds);
  }

  /** The gauges, from one pass over the hosted partitions at each scrape. */
  sample(brokerId: number, state: BrokerState): void {
    const m = this.m;
    const g = {
      partitions: m.gauge('broker_partitions', 'Partition replicas hosted here, by role', ['role']),
      leaders: m.gauge('broker_leader_partitions', 'Partitions this broker leads'),
      under: m.gauge(
        'broker_under_replicated_partitions',
        'Partitions led here whose ISR is smaller than their replica set',
      ),
      underMin: m.gauge(
        'broker_under_min_isr_partitions',
        'Partitions led here whose ISR is below min.insync.replicas (acks=all fails)',
      ),
      offline: m.gauge(
        'broker_offline_partitions',
        'Partitions hosted here that have no leader at all',
      ),
      size: m.gauge('log_size_bytes', 'Bytes in the logs of the replicas hosted here', ['topic']),
      segments: m.gauge('log_segments', 'Segments in the logs of the replicas hosted here', [
        'topic',
      ]),
      lag: m.gauge(
        'broker_follower_lag_records',
        'Records a follower still has to copy, summed over the partitions this broker leads',
        ['follower'],
      ),
      maxLag: m.gauge(
        'broker_follower_max_lag_records',
        'The largest number of records a follower is behind on any partition this broker leads',
        ['follower'],
      ),
      registered: m.gauge('broker_registered', '1 while this broker is registered and not fenced'),
      revision: m.gauge(
        'broker_metadata_revision',
        'KV revision of the newest metadata this broker applied',
      ),
      connections: m.gauge('broker_connections', 'Client and replica connections open'),
      cleaned: m.gauge(
        'log_cleaner_cleaned_bytes',
        'Bytes of dirty log of compacted topics the cleaner cleaned since the broker started',
      ),
      dirty: m.gauge(
        'log_cleaner_max_dirty_ratio',
        'The largest dirty ratio of the compacted replicas hosted here (cleaning starts at min.cleanable.dirty.ratio)',
        ['topic'],
      ),
    };
    m.onScrape(() => {
      for (const x of Object.values(g)) x.reset();
      let leaders = 0;
      let followers = 0;
      let under = 0;
      let underMin = 0;
      let offline = 0;
      const size = new Map<string, number>();
      const segments = new Map<string, number>();
      const lag = new Map<number, number>();
      const maxLag = new Map<number, number>();
      const dirty = new Map<string, number>();
      for (const h of state.hosted()) {
        const ratio = state.dirtyRatio(h);
        if (ratio !== undefined) dirty.set(h.topic, Math.max(dirty.get(h.topic) ?? 0, ratio));
        size.set(h.topic, (size.get(h.topic) ?? 0) + h.log.sizeBytes);
        segments.set(h.topic, (segments.get(h.topic) ?? 0) + h.log.segmentCount);
        if (h.leader <= 0) offline++;
        if (h.role !== 'leader') {
          followers++;
          continue;
        }
        leaders++;
        if (h.isr.length < h.replicas.length) under++;
        if (h.isr.length < h.config.minInsyncReplicas) underMin++;
        const end = h.log.writtenOffset;
        for (const f of h.replicas) {
          if (f === brokerId || !h.followers) continue;
          const behind = Math.max(0, end - Math.max(0, h.followers.followerEnd(f)));
          lag.set(f, (lag.get(f) ?? 0) + behind);
          maxLag.set(f, Math.max(maxLag.get(f) ?? 0, behind));
        }
      }
      g.partitions.set({ role: 'leader' }, leaders);
      g.partitions.set({ role: 'follower' }, followers);
      g.leaders.set(leaders);
      g.under.set(under);
      g.underMin.set(underMin);
      g.offline.set(offline);
      for (const [topic, n] of size) g.size.set({ topic }, n);
      for (const [topic, n] of segments) g.segments.set({ topic }, n);
      for (const [f, n] of lag) g.lag.set({ follower: String(f) }, n);
      for (const [f, n] of maxLag) g.maxLag.set({ follower: String(f) }, n);
      g.registered.set(state.registered() ? 1 : 0);
      g.revision.set(state.metadataRevision());
      g.connections.set(state.connectionsOpen());
      g.cleaned.set(state.cleanedBytes());
      for (const [topic, r] of dirty) g.dirty.set({ topic }, r);
    });
  }
}
