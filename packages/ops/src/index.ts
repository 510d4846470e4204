// @strand/ops — what every Strand server shares for being operated: the admin HTTP port,
// Prometheus metrics and structured logs. Private to the workspace (the SDK never loads it).

// Metrics: a prom-client registry with Node's defaults, names checked for one style
export {
  type Counter,
  type Gauge,
  type Histogram,
  LATENCY_BUCKETS,
  Metrics,
  metricName,
} from './metrics.js';

// The admin listener: GET /metrics, /healthz, /readyz
export {
  type AdminServer,
  type AdminServerOptions,
  metricsToken,
  type Readiness,
  readMetricsToken,
  startAdminServer,
} from './admin-server.js';
// ...and reading one (HTTPS with the cluster's CA, the metrics token)
export { type AdminAccess, adminGet } from './admin-client.js';

// Structured logs (pino): JSON lines, or readable lines on a terminal
export {
  createLogger,
  errorLine,
  formatRecord,
  LOG_LEVELS,
  type LogFormat,
  LogFormatSchema,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  LogLevelSchema,
  parseRecord,
  REDACTED,
  runMain,
  silentLogger,
  throttle,
} from './logger.js';

// Flags and config keys both apps take: --admin-listen, --log-level, --log-format,
// --metrics-token-file
export { OPS_FLAGS, type OpsConfig, OpsConfigSchema } from './config.js';

// The Node flags a server runs with (its bin scripts' #! line; spawners pass them)
export { SERVER_NODE_FLAGS } from './node-flags.js';
