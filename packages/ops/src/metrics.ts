import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type { Counter, Gauge, Histogram } from 'prom-client';

/**
 * Metric names, in one style: `strand_<subsystem>_<what>[_<unit>]`, lower snake case, a
 * counter ending in `_total`, a duration in `_seconds`, a size in `_bytes` (Prometheus's
 * naming conventions). Names are checked when a metric is made, so a badly named one fails
 * the first test that builds the registry instead of reaching a dashboard.
 */
const NAME = /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/;

export function metricName(name: string, kind: 'counter' | 'gauge' | 'histogram'): string {
  const full = name.startsWith('strand_') ? name : `strand_${name}`;
  if (!NAME.test(full)) throw new Error(`metric name ${full} is not lower snake case`);
  if ((kind === 'counter') !== full.endsWith('_total'))
    throw new Error(
      `metric ${full}: a counter's name ends in _total, and only a counter's (${kind})`,
    );
  if (kind === 'histogram' && !/_(seconds|bytes|records)$/.test(full))
    throw new Error(`histogram ${full} names its unit (_seconds, _bytes or _records)`);
  return full;
}

/** Request and disk latencies: 0.5 ms to 30 s. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

type Labels<L extends string> = Partial<Record<L, string | number>>;

/**
 * One process's metrics: a prom-client registry holding Node's defaults (event-loop lag, GC,
 * heap, RSS, CPU, under their usual names) and Strand's own, plus the samplers that set
 * gauges from the state the process already keeps, run once per scrape. Nothing here walks
 * state between scrapes, and nothing is labelled by partition: per topic at most.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly samplers: (() => void | Promise<void>)[] = [];

  constructor(opts: { defaults?: boolean } = {}) {
    if (opts.defaults !== false) collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string = never>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({
      name: metricName(name, 'counter'),
      help,
      labelNames,
      registers: [this.registry],
    });
  }

  gauge<L extends string = never>(name: string, help: string, labelNames: L[] = []): Gauge<L> {
    return new Gauge({
      name: metricName(name, 'gauge'),
      help,
      labelNames,
      registers: [this.registry],
    });
  }

  histogram<L extends string = never>(
    name: string,
    help: string,
    labelNames: L[] = [],
    buckets: number[] = LATENCY_BUCKETS,
  ): Histogram<L> {
    return new Histogram({
      name: metricName(name, 'histogram'),
      help,
      labelNames,
      buckets,
      registers: [this.registry],
    });
  }

  /**
   * A counter whose total is kept elsewhere (a plain number some component counts): each
   * scrape reports `read()`'s value. Lets pure packages count without depending on
   * prom-client.
   */
  counterOf<L extends string = never>(
    name: string,
    help: string,
    read: () => number | [Labels<L>, number][],
    labelNames: L[] = [],
  ): Counter<L> {
    const c = this.counter(name, help, labelNames);
    this.onScrape(() => {
      c.reset();
      const v = read();
      if (typeof v === 'number') c.inc(v);
      else for (const [labels, n] of v) c.inc(labels as never, n);
    });
    return c;
  }

  /** A gauge set at each scrape from `read()`: one value, or one per label set. */
  gaugeOf<L extends string = never>(
    name: string,
    help: string,
    read: () => number | [Labels<L>, number][],
    labelNames: L[] = [],
  ): Gauge<L> {
    const g = this.gauge(name, help, labelNames);
    this.onScrape(() => {
      g.reset(); // a label set gone since the last scrape (a deleted topic) goes too
      const v = read();
      if (typeof v === 'number') g.set(v);
      else for (const [labels, n] of v) g.set(labels as never, n);
    });
    return g;
  }

  /** Runs before every scrape, in the order added (e.g. one pass over state setting several gauges). */
  onScrape(sample: () => void | Promise<void>): void {
    this.samplers.push(sample);
  }

  /** The Prometheus text exposition of every metric, sampled now. */
  async scrape(): Promise<string> {
    for (const s of this.samplers) await s();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
