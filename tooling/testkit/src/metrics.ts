import { adminGet } from '@strand/ops';
import type { NodeProcess } from './process.js';

/** One scrape of a Prometheus text endpoint: every sample by name and labels. */
export class Scrape {
  constructor(
    readonly samples: { name: string; labels: Record<string, string>; value: number }[],
    /** How long the scrape took, in milliseconds (request to the end of the body). */
    readonly ms: number,
  ) {}

  /** The sum of the samples named `name` whose labels include `labels` (0 when none). */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.matching(name, labels).reduce((n, s) => n + s.value, 0);
  }

  /** The one sample named `name` with exactly these labels, or undefined. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const want = Object.keys(labels).length;
    return this.matching(name, labels).find((s) => Object.keys(s.labels).length === want)?.value;
  }

  has(name: string): boolean {
    return this.samples.some((s) => s.name === name);
  }

  private matching(name: string, labels: Record<string, string>) {
    return this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Scrape['samples'] {
  const out: Scrape['samples'] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * GETs `url`/metrics and parses it; on a secured node's HTTPS admin port, with the cluster's
 * CA and the metrics token.
 */
export async function scrapeMetrics(
  url: string,
  opts: { ca?: Buffer; token?: string } = {},
): Promise<Scrape> {
  const t0 = performance.now();
  const { status, text } = await adminGet(url, '/metrics', opts);
  const ms = performance.now() - t0;
  if (status !== 200) throw new Error(`${url}/metrics answered ${status}: ${text}`);
  return new Scrape(parseMetrics(text), ms);
}

/** GETs `url`/readyz: its status and JSON body. */
export async function readiness(
  url: string,
): Promise<{ status: number; body: { ready: boolean } & Record<string, unknown> }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as { ready: boolean } };
}

/** The admin URL a Strand server announced in its ready line (the newest one, after restarts). */
export function adminUrlOf(proc: NodeProcess): string {
  for (const line of [proc.readyLine ?? '', ...[...proc.lines].reverse()]) {
    const m = /admin[ =](https?:\/\/[\w.:[\]-]+)/.exec(line);
    if (m) return m[1]!;
  }
  throw new Error(`${proc.name} announced no admin URL (started with --admin-listen?)`);
}

/** Polls `check` until it returns true (or a value), failing after `timeoutMs` with `what`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | false | undefined> | T | false | undefined,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const r = await check();
      if (r !== false && r !== undefined) return r;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
