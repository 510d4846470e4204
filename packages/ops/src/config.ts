import { HostPortSchema } from '@strand/wire';
import { z } from 'zod';
import { LogFormatSchema, LogLevelSchema } from './logger.js';

/** The settings for operating a server, the same in every app (spread into its schema). */
export const OpsConfigSchema = z.object({
  /** host:port of the admin HTTP listener (/metrics, /healthz, /readyz); none when unset. */
  adminListen: HostPortSchema.optional(),
  logLevel: LogLevelSchema.default('info'),
  logFormat: LogFormatSchema.default('auto'),
  /** A file holding the bearer token `/metrics` asks for when authentication is required. */
  metricsTokenFile: z.string().min(1).optional(),
});
export type OpsConfig = z.infer<typeof OpsConfigSchema>;

export const OPS_FLAGS = [
  { key: 'adminListen', flag: 'admin-listen', env: 'STRAND_ADMIN_LISTEN' },
  { key: 'logLevel', flag: 'log-level', env: 'STRAND_LOG_LEVEL' },
  { key: 'logFormat', flag: 'log-format', env: 'STRAND_LOG_FORMAT' },
  { key: 'metricsTokenFile', flag: 'metrics-token-file', env: 'STRAND_METRICS_TOKEN_FILE' },
] as const;
