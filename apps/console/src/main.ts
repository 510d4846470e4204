#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import {
  createLogger,
  LogFormatSchema,
  type Logger,
  LogLevelSchema,
  readMetricsToken,
  runMain,
} from '@strand/ops';
import {
  type ConfigField,
  commaList,
  HostPortSchema,
  InvalidConfigError,
  loadLayeredConfig,
} from '@strand/wire';
import { z } from 'zod';
import { startConsole } from './server.js';

const ConsoleConfigSchema = z
  .object({
    /** host:port the console's web server listens on (port 0: any free port). */
    listen: HostPortSchema.default('127.0.0.1:8080'),
    /** Brokers (topics, messages, groups). */
    bootstrap: z.array(HostPortSchema).min(1).default(['127.0.0.1:9092']),
    /** Coordinators (the KV browser). */
    kvBootstrap: z.array(HostPortSchema).min(1).default(['127.0.0.1:2379']),
    /** How often the brokers' metrics are read for the throughput chart. */
    metricsIntervalMs: z.coerce.number().int().min(100).max(3_600_000).default(5000),
    /** TLS: the cluster's CA, and a client certificate (its CN is the console's principal). */
    tlsCa: z.string().min(1).optional(),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    /** HTTPS for the console's own pages (else HTTP): a certificate and its key (PEM). */
    httpsCert: z.string().min(1).optional(),
    httpsKey: z.string().min(1).optional(),
    /** A logged-in user's session ends after this long unused (a cluster with authentication). */
    sessionIdleMs: z.coerce.number().int().min(1000).max(604_800_000).default(1_800_000),
    /** The nodes' `--metrics-token-file`: the throughput chart's scrapes carry its token. */
    metricsTokenFile: z.string().min(1).optional(),
    logLevel: LogLevelSchema.default('info'),
    logFormat: LogFormatSchema.default('auto'),
  })
  .strict();

const FIELDS: readonly ConfigField[] = [
  { key: 'listen', flag: 'listen', env: 'STRAND_CONSOLE_LISTEN' },
  { key: 'bootstrap', flag: 'bootstrap', env: 'STRAND_BOOTSTRAP', parse: commaList },
  { key: 'kvBootstrap', flag: 'kv-bootstrap', env: 'STRAND_KV_BOOTSTRAP', parse: commaList },
  { key: 'metricsIntervalMs', flag: 'metrics-interval-ms' },
  { key: 'tlsCa', flag: 'tls-ca', env: 'STRAND_TLS_CA' },
  { key: 'tlsCert', flag: 'tls-cert', env: 'STRAND_TLS_CERT' },
  { key: 'tlsKey', flag: 'tls-key', env: 'STRAND_TLS_KEY' },
  { key: 'metricsTokenFile', flag: 'metrics-token-file', env: 'STRAND_METRICS_TOKEN_FILE' },
  { key: 'httpsCert', flag: 'https-cert', env: 'STRAND_CONSOLE_HTTPS_CERT' },
  { key: 'httpsKey', flag: 'https-key', env: 'STRAND_CONSOLE_HTTPS_KEY' },
  { key: 'sessionIdleMs', flag: 'session-idle-ms', env: 'STRAND_CONSOLE_SESSION_IDLE_MS' },
  { key: 'logLevel', flag: 'log-level', env: 'STRAND_LOG_LEVEL' },
  { key: 'logFormat', flag: 'log-format', env: 'STRAND_LOG_FORMAT' },
];

/** The clients' TLS options: none, the CA alone, or the CA and a client certificate. */
function consoleTls(c: z.output<typeof ConsoleConfigSchema>) {
  if (!c.tlsCa) {
    if (c.tlsCert || c.tlsKey)
      throw new InvalidConfigError('--tls-cert and --tls-key need --tls-ca');
    return undefined;
  }
  if (!c.tlsCert !== !c.tlsKey)
    throw new InvalidConfigError('give both --tls-cert and --tls-key (or neither)');
  const ca = readFileSync(c.tlsCa);
  if (!c.tlsCert || !c.tlsKey) return { ca };
  return { ca, cert: readFileSync(c.tlsCert), key: readFileSync(c.tlsKey) };
}

/** The console's own HTTPS: its certificate and key, both or neither. */
function consoleHttps(c: z.output<typeof ConsoleConfigSchema>) {
  if (!c.httpsCert !== !c.httpsKey)
    throw new InvalidConfigError('give both --https-cert and --https-key (or neither)');
  if (!c.httpsCert || !c.httpsKey) return undefined;
  return { cert: readFileSync(c.httpsCert), key: readFileSync(c.httpsKey) };
}

async function main(useLogger: (log: Logger) => void): Promise<void> {
  const config = loadLayeredConfig({
    what: 'console',
    argv: process.argv.slice(2),
    env: process.env,
    configEnv: 'STRAND_CONSOLE_CONFIG',
    fields: FIELDS,
    schema: ConsoleConfigSchema,
  });
  const log = createLogger({ app: 'console', level: config.logLevel, format: config.logFormat });
  useLogger(log);
  const tls = consoleTls(config);
  const https = consoleHttps(config);
  const at = config.listen.lastIndexOf(':');
  const web = await startConsole(
    {
      cluster: {
        bootstrap: config.bootstrap,
        kvBootstrap: config.kvBootstrap,
        ...(tls ? { tls } : {}),
      },
      listen: { host: config.listen.slice(0, at), port: Number(config.listen.slice(at + 1)) },
      ...(https ? { https } : {}),
      sessionIdleMs: config.sessionIdleMs,
      metricsIntervalMs: config.metricsIntervalMs,
      metricsAccess: {
        ...(tls ? { ca: tls.ca } : {}),
        ...(config.metricsTokenFile ? { token: readMetricsToken(config.metricsTokenFile) } : {}),
      },
    },
    log,
  );
  const stop = async (signal: string) => {
    log.info({ signal }, 'stopping');
    await web.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  log.info(
    { url: web.url, brokers: config.bootstrap, coordinators: config.kvBootstrap },
    `listening on ${web.url}`,
  );
}

runMain('strand-console', main);
