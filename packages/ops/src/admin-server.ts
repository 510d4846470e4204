import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

/** What `/readyz` reports: `ready` decides the status (200 or 503); the rest explains it. */
export interface Readiness {
  ready: boolean;
  /** One entry per condition, each saying whether it holds and why not. */
  checks: Record<string, { ok: boolean; detail?: string }>;
  [more: string]: unknown;
}

export interface AdminServerOptions {
  /** host:port to bind (port 0: any free port). */
  listen: string;
  /** The host others reach this one at, when `listen` is a wildcard (0.0.0.0, ::). */
  advertiseHost?: string;
  metrics: Metrics;
  /** Who answers: in every JSON body (e.g. `{ app: 'broker', id: 1 }`). */
  about: Record<string, string | number>;
  ready: () => Readiness | Promise<Readiness>;
  /** How slow a scrape is reported (seconds), for the scrape's own histogram. */
  onScrape?: (seconds: number) => void;
}

export interface AdminServer {
  port: number;
  /** `http://host:port` as others reach it (the bound host, or the advertised one for a wildcard). */
  url: string;
  close(): Promise<void>;
}

/** Admin clients are a scraper and a probe or two: a few connections at most. */
const MAX_CONNECTIONS = 64;
const REQUEST_TIMEOUT_MS = 10_000;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/**
 * The admin HTTP listener every Strand server has: `GET /metrics` (Prometheus text),
 * `/healthz` (the process is alive and its event loop turns: always 200) and `/readyz` (200
 * when the server is ready for traffic, else 503; the body says which check failed). For a
 * load balancer, Kubernetes' probes and a Prometheus scraper; it serves nothing else.
 */
export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const started = Date.now();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: `${req.method} is not allowed here`, ...opts.about });
    }
    switch (path) {
      case '/metrics': {
        const t0 = process.hrtime.bigint();
        const text = await opts.metrics.scrape();
        opts.onScrape?.(Number(process.hrtime.bigint() - t0) / 1e9);
        res.writeHead(200, {
          'content-type': opts.metrics.contentType,
          'content-length': Buffer.byteLength(text),
        });
        return res.end(text);
      }
      case '/healthz':
        return sendJson(res, 200, {
          status: 'alive',
          ...opts.about,
          uptimeSeconds: Math.round((Date.now() - started) / 1000),
        });
      case '/readyz': {
        const r = await opts.ready();
        return sendJson(res, r.ready ? 200 : 503, { ...opts.about, ...r });
      }
      default:
        return sendJson(res, 404, {
          error: `no ${path} here: /metrics, /healthz and /readyz`,
          ...opts.about,
        });
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message, ...opts.about });
      else res.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  const at = opts.listen.lastIndexOf(':');
  const host = opts.listen.slice(0, at).replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(opts.listen.slice(at + 1)), host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const wildcard = host === '' || host === '0.0.0.0' || host === '::';
  const reached = wildcard ? (opts.advertiseHost ?? '127.0.0.1') : host;
  const shown = reached.includes(':') && !reached.startsWith('[') ? `[${reached}]` : reached;
  return {
    port,
    url: `http://${shown}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
