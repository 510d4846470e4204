import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { InvalidConfigError, type TlsFiles } from '@strand/wire';
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
  /** HTTPS with the node's own certificate (followed when it is renewed); plain HTTP without. */
  tls?: TlsFiles;
  /**
   * When set, `/metrics` answers only a request with `Authorization: Bearer <token>` (what
   * Prometheus sends with `authorization: { credentials_file: ... }`); null: no request (no
   * token was configured where one is needed). The probes stay open either way.
   */
  metricsToken?: string | null;
}

export interface AdminServer {
  port: number;
  /** `http://host:port` as others reach it (the bound host, or the advertised one for a wildcard). */
  url: string;
  close(): Promise<void>;
}

/**
 * The bearer token `/metrics` asks for: none (open) unless authentication is required, then
 * the first line of `--metrics-token-file`, or null (closed to everyone) without one.
 */
export function metricsToken(opts: {
  authenticationRequired: boolean;
  adminListen?: string;
  metricsTokenFile?: string;
}): string | null | undefined {
  if (!opts.authenticationRequired || !opts.adminListen) return undefined;
  if (!opts.metricsTokenFile) return null;
  return readMetricsToken(opts.metricsTokenFile);
}

/** The token of a `--metrics-token-file`: its first line (the nodes' and their scrapers'). */
export function readMetricsToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidConfigError(
      `cannot read --metrics-token-file ${file}: ${(err as Error).message}`,
    );
  }
  const token = text.split('\n')[0]!.trim();
  if (token.length < 16)
    throw new InvalidConfigError(
      `--metrics-token-file ${file}: the token must be at least 16 characters`,
    );
  return token;
}

/** Whether a request carries the bearer token (compared in constant time). */
function hasToken(req: IncomingMessage, token: Buffer): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  const given = Buffer.from(m?.[1] ?? '');
  return given.length === token.length && timingSafeEqual(given, token);
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
  const token = opts.metricsToken == null ? opts.metricsToken : Buffer.from(opts.metricsToken);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: `${req.method} is not allowed here`, ...opts.about });
    }
    switch (path) {
      case '/metrics': {
        if (token === null || (token && !hasToken(req, token))) {
          res.setHeader('www-authenticate', 'Bearer realm="strand metrics"');
          return sendJson(res, 401, {
            error:
              token === null
                ? 'authentication is required here: /metrics is served once the node has a --metrics-token-file, to requests with Authorization: Bearer <its token>'
                : 'GET /metrics needs Authorization: Bearer <the --metrics-token-file token>',
            ...opts.about,
          });
        }
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
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message, ...opts.about });
      else res.destroy();
    });
  };
  const tls = opts.tls;
  const server = tls
    ? createHttpsServer({ cert: tls.material.cert, key: tls.material.key }, onRequest)
    : createServer(onRequest);
  tls?.onChange((m) => {
    if ('setSecureContext' in server) server.setSecureContext({ cert: m.cert, key: m.key });
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
    url: `${tls ? 'https' : 'http'}://${shown}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
