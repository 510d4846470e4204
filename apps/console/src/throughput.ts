import type { Admin, ClusterDescription } from '@strand/client';
import { type AdminAccess, adminGet } from '@strand/ops';
import { Html, html } from './html.js';

/** The sum of a Prometheus text's samples named `name` whose labels include `label` (if given). */
export function sumSamples(text: string, name: string, label?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue; // another metric sharing the prefix
    if (label && !rest.includes(label)) continue;
    const v = Number(rest.slice(rest.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

interface Sample {
  at: number;
  bytesIn: number;
  bytesOut: number;
}

/** Samples kept: with the default interval, the last five minutes. */
const KEEP = 60;

/**
 * Cluster throughput from the brokers' own metrics: every interval, each broker's /metrics
 * (found through its registration) is read and the bytes produced and consumed summed. The
 * overview charts the rates between samples. On a secured cluster the admin ports are HTTPS
 * (checked against the cluster's CA) and `/metrics` wants the nodes' metrics token.
 */
export class Throughput {
  private readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;

  /**
   * `admins`: clients to ask for the brokers (the first that answers), the console's own last
   * (on a cluster that requires authentication it may ask nothing until a user logs in).
   */
  constructor(
    private readonly admins: () => Admin[],
    intervalMs: number,
    private readonly access: AdminAccess = {},
  ) {
    this.timer = setInterval(() => void this.sample().catch(() => undefined), intervalMs);
    this.timer.unref();
    void this.sample().catch(() => undefined);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async describe(): Promise<ClusterDescription> {
    let last: unknown = new Error('no client to ask');
    for (const admin of this.admins()) {
      try {
        return await admin.describeCluster();
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  private async sample(): Promise<void> {
    const { brokers } = await this.describe();
    const texts = await Promise.all(
      brokers
        .filter((b) => b.adminUrl && !b.fenced)
        .map((b) =>
          adminGet(b.adminUrl, '/metrics', { ...this.access, timeoutMs: 2000 })
            .then((r) => (r.status === 200 ? r.text : ''))
            .catch(() => ''),
        ),
    );
    this.samples.push({
      at: Date.now(),
      bytesIn: texts.reduce((n, t) => n + sumSamples(t, 'strand_broker_bytes_in_total'), 0),
      bytesOut: texts.reduce(
        (n, t) => n + sumSamples(t, 'strand_broker_bytes_out_total', 'fetcher="consumer"'),
        0,
      ),
    });
    if (this.samples.length > KEEP) this.samples.shift();
  }

  /** Bytes per second in and out between consecutive samples (a broker restart counts 0). */
  rates(): { at: number; in: number; out: number }[] {
    const out: { at: number; in: number; out: number }[] = [];
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1]!;
      const b = this.samples[i]!;
      const s = Math.max(0.001, (b.at - a.at) / 1000);
      out.push({
        at: b.at,
        in: Math.max(0, b.bytesIn - a.bytesIn) / s,
        out: Math.max(0, b.bytesOut - a.bytesOut) / s,
      });
    }
    return out;
  }

  /** The rates as an SVG chart (produced in blue, consumed in orange). */
  chart(): Html {
    const r = this.rates();
    if (r.length < 2)
      return html`<p id="throughput">Throughput: waiting for samples of the brokers' metrics…</p>`;
    const W = 600;
    const H = 120;
    const max = Math.max(1, ...r.map((x) => Math.max(x.in, x.out)));
    const line = (pick: (x: { in: number; out: number }) => number) =>
      r
        .map(
          (x, i) =>
            `${((i / (r.length - 1)) * W).toFixed(1)},${(H - (pick(x) / max) * H).toFixed(1)}`,
        )
        .join(' ');
    const last = r[r.length - 1]!;
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB/s`;
    return html`<figure id="throughput"><svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="throughput">
      <rect width="${W}" height="${H}" fill="#f8f9fa"/>
      <polyline fill="none" stroke="#1c7ed6" stroke-width="2" points="${line((x) => x.in)}"/>
      <polyline fill="none" stroke="#f76707" stroke-width="2" points="${line((x) => x.out)}"/>
    </svg><figcaption>Produced <b id="rate-in">${kib(last.in)}</b> (blue), consumed <b id="rate-out">${kib(last.out)}</b> (orange); peak ${new Html(kib(max))} over the last ${r.length} samples</figcaption></figure>`;
  }
}
