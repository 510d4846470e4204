import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InvalidConfigError } from '@strand/wire';
import { z } from 'zod';

const hostPort = z.string().regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'expected host:port');

export const BrokerConfigSchema = z
  .object({
    id: z.coerce
      .number()
      .int()
      .min(1)
      .max(2 ** 31 - 1),
    /** host:port to bind. */
    listen: hostPort,
    /** host:port clients and other brokers use to reach this broker (default: listen). */
    advertise: hostPort.optional(),
    /** Any coordinators of the cluster. */
    coordinators: z.array(hostPort).min(1),
    dataDir: z.string().min(1),
    /** Where this broker runs (a rack, zone or data centre): consumers there may read from it. */
    rack: z
      .string()
      .max(100)
      .regex(/^[\w.-]*$/, 'a rack is letters, digits, ".", "_" or "-"')
      .default(''),
    /** How often closed segments are checked against retention. */
    retentionCheckMs: z.coerce.number().int().min(10).default(30_000),
    /** A follower that has not caught up with its leader for this long leaves the ISR. */
    replicaLagTimeMaxMs: z.coerce.number().int().min(100).max(600_000).default(10_000),
    /** Log durability: fsync every append, group commit on an interval, or leave it to the OS. */
    flush: z.enum(['always', 'interval', 'os']).default('interval'),
    flushIntervalMs: z.coerce.number().int().min(1).default(50),
    /** Largest gRPC message accepted (a produce request with every partition's batches). */
    maxRequestBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(64 * 1024 * 1024),
  })
  .strict()
  .superRefine((c, ctx) => {
    const host = c.listen.slice(0, c.listen.lastIndexOf(':'));
    if (!c.advertise && (host === '0.0.0.0' || host === '[::]' || host === '::'))
      ctx.addIssue({
        code: 'custom',
        path: ['advertise'],
        message: `listening on ${host} needs --advertise host:port (the address others dial)`,
      });
  });

export type BrokerConfig = z.infer<typeof BrokerConfigSchema> & { advertise: string };

/**
 * Config from (lowest to highest precedence) a JSON file (`--config`), the environment
 * (`STRAND_BROKER_ID`, `STRAND_LISTEN`, `STRAND_ADVERTISE`, `STRAND_COORDINATORS`,
 * `STRAND_DATA_DIR`, `STRAND_RACK`) and flags (`--id --listen --advertise --coordinators --data
 * --rack --retention-check-ms --flush --flush-interval-ms --max-request-bytes --replica-lag-time-max-ms`).
 */
export function loadBrokerConfig(argv: string[], env: NodeJS.ProcessEnv): BrokerConfig {
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        id: { type: 'string' },
        listen: { type: 'string' },
        advertise: { type: 'string' },
        coordinators: { type: 'string' },
        data: { type: 'string' },
        rack: { type: 'string' },
        'retention-check-ms': { type: 'string' },
        flush: { type: 'string' },
        'flush-interval-ms': { type: 'string' },
        'max-request-bytes': { type: 'string' },
        'replica-lag-time-max-ms': { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new InvalidConfigError((err as Error).message);
  }
  let merged: Record<string, unknown> = {};
  const file = (flags.config as string | undefined) ?? env.STRAND_BROKER_CONFIG;
  if (file) {
    try {
      merged = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new InvalidConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
  }
  const set = (key: string, value: unknown) => {
    if (value !== undefined) merged[key] = value;
  };
  set('id', flags.id ?? env.STRAND_BROKER_ID);
  set('listen', flags.listen ?? env.STRAND_LISTEN);
  set('advertise', flags.advertise ?? env.STRAND_ADVERTISE);
  const coordinators = flags.coordinators ?? env.STRAND_COORDINATORS;
  if (typeof coordinators === 'string')
    set(
      'coordinators',
      coordinators
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  set('dataDir', flags.data ?? env.STRAND_DATA_DIR);
  set('rack', flags.rack ?? env.STRAND_RACK);
  set('retentionCheckMs', flags['retention-check-ms']);
  set('flush', flags.flush);
  set('flushIntervalMs', flags['flush-interval-ms']);
  set('maxRequestBytes', flags['max-request-bytes']);
  set('replicaLagTimeMaxMs', flags['replica-lag-time-max-ms']);
  const result = BrokerConfigSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.join('.') || 'config'}: ${i.message}`,
    );
    throw new InvalidConfigError(`invalid broker config: ${problems.join('; ')}`);
  }
  return { ...result.data, advertise: result.data.advertise ?? result.data.listen };
}
