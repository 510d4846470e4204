import { OPS_FLAGS, OpsConfigSchema } from '@strand/ops';
import { AUTH_FLAGS, AuthConfigShape, authConfigProblem } from '@strand/security';
import {
  CONNECTION_LIMIT_FLAGS,
  type ConfigField,
  ConnectionLimitsSchema,
  commaList,
  HostPortSchema,
  loadLayeredConfig,
  TLS_FLAGS,
  TlsConfigShape,
  tlsPathsProblem,
} from '@strand/wire';
import { z } from 'zod';
import {
  defaultKafkaSecurityProtocol,
  KAFKA_SECURITY_PROTOCOLS,
  type KafkaSecurityProtocol,
  kafkaSecurityProblem,
} from './kafka/security-protocol.js';

const hostPort = HostPortSchema;

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
    /** Compacted topics are cleaned by this broker (Kafka's log.cleaner.enable). */
    logCleanerEnable: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    /** The cleaner's key map budget per pass (log.cleaner.dedupe.buffer.size). */
    logCleanerDedupeBufferSize: z.coerce
      .number()
      .int()
      .min(64 * 1024)
      .default(128 * 1024 * 1024),
    /** Bytes the cleaner reads and writes per second (log.cleaner.io.max.bytes.per.second; 0: no bound). */
    logCleanerIoMaxBytesPerSecond: z.coerce.number().min(0).default(0),
    /** The cleaner's pause when no log needs cleaning (log.cleaner.backoff.ms). */
    logCleanerBackoffMs: z.coerce.number().int().min(10).default(15_000),
    /** How often closed segments are checked against retention. */
    retentionCheckMs: z.coerce.number().int().min(10).default(30_000),
    /** A follower that has not caught up with its leader for this long leaves the ISR. */
    replicaLagTimeMaxMs: z.coerce.number().int().min(100).max(600_000).default(10_000),
    /**
     * On SIGTERM, how long the broker waits for the controller to move its leaderships and take
     * it out of every ISR before it stops (0: stop at once, as after a crash).
     */
    controlledShutdownTimeoutMs: z.coerce.number().int().min(0).max(600_000).default(15_000),
    /** Log durability: fsync every append, group commit on an interval, or leave it to the OS. */
    flush: z.enum(['always', 'interval', 'os']).default('interval'),
    flushIntervalMs: z.coerce.number().int().min(1).default(50),
    /** Diagnostics: a file that per-batch replication timings are appended to (off by default). */
    traceReplication: z.string().min(1).optional(),
    /**
     * Segment files kept open at once, across every partition (more are opened and closed as
     * needed): keep it well below the process's descriptor limit (`ulimit -n`).
     */
    maxOpenFiles: z.coerce.number().int().min(8).max(1_000_000).default(1024),
    /**
     * The most record bytes one fetch answer holds, whatever the request asks (Kafka's
     * fetch.max.bytes); the first batch of an answer comes whole even when larger.
     */
    maxFetchBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(50 * 1024 * 1024),
    /**
     * Record bytes of all fetch answers held in memory at once (being read, or sent and not yet
     * taken by the client); a quarter of it (at least one answer's worth) per connection.
     */
    fetchMemoryBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024 * 1024)
      .default(256 * 1024 * 1024),
    /**
     * Disk space kept back: below this much free space the broker refuses new records
     * (STORAGE_FULL) and this much is held in a reserve file for what must still be written.
     */
    diskReserveBytes: z.coerce
      .number()
      .int()
      .min(0)
      .max(64 * 1024 * 1024 * 1024)
      .default(16 * 1024 * 1024),
    /** Largest gRPC message accepted (a produce request with every partition's batches). */
    maxRequestBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(64 * 1024 * 1024),
    ...ConnectionLimitsSchema.shape,
    ...OpsConfigSchema.shape,
    ...TlsConfigShape,
    ...AuthConfigShape,
    /**
     * A port of its own for Kafka clients. Without it, Kafka clients are served on `listen`
     * beside gRPC (each connection is told apart by its first bytes).
     */
    kafkaListen: hostPort.optional(),
    /** host:port Kafka clients are told to reach this broker at (default: kafkaListen, else advertise). */
    kafkaAdvertise: hostPort.optional(),
    /**
     * The Kafka listener's security (Kafka's listener security protocols). Default: SASL_SSL
     * with TLS and --authentication required, SSL with TLS alone, else PLAINTEXT. SASL_PLAINTEXT
     * offers SCRAM only (PLAIN would send the password in the clear).
     */
    kafkaSecurityProtocol: z.enum(KAFKA_SECURITY_PROTOCOLS).optional(),
    /**
     * Kafka's connections.max.reauth.ms: an authenticated Kafka session lasts this long, then
     * the client re-authenticates (KIP-368) or its connection is closed; 0: for ever.
     */
    kafkaMaxReauthMs: z.coerce.number().int().min(0).max(86_400_000).default(0),
    /** The largest Kafka request accepted (Kafka's socket.request.max.bytes). */
    kafkaMaxRequestBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(100 * 1024 * 1024),
    /** Kafka's auto.create.topics.enable: Metadata for an unknown topic creates it. */
    autoCreateTopics: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    /** Partitions of topics created without a count (Kafka's num.partitions). */
    defaultPartitions: z.coerce.number().int().min(1).max(1000).default(1),
    /** Replication factor of topics created without one (default.replication.factor). */
    defaultReplicationFactor: z.coerce.number().int().min(1).max(16).default(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    const tls = tlsPathsProblem(c);
    if (tls) ctx.addIssue({ code: 'custom', path: ['tlsCert'], message: tls });
    const auth = authConfigProblem(c);
    if (auth) ctx.addIssue({ code: 'custom', path: ['authentication'], message: auth });
    const kafka = kafkaSecurityProblem(c);
    if (kafka) ctx.addIssue({ code: 'custom', path: ['kafkaSecurityProtocol'], message: kafka });
    const host = c.listen.slice(0, c.listen.lastIndexOf(':'));
    if (!c.advertise && (host === '0.0.0.0' || host === '[::]' || host === '::'))
      ctx.addIssue({
        code: 'custom',
        path: ['advertise'],
        message: `listening on ${host} needs --advertise host:port (the address others dial)`,
      });
    const kafkaHost = c.kafkaListen?.slice(0, c.kafkaListen.lastIndexOf(':'));
    if (
      !c.kafkaAdvertise &&
      (kafkaHost === '0.0.0.0' || kafkaHost === '[::]' || kafkaHost === '::')
    )
      ctx.addIssue({
        code: 'custom',
        path: ['kafkaAdvertise'],
        message: `--kafka-listen on ${kafkaHost} needs --kafka-advertise host:port (the address Kafka clients dial)`,
      });
  });

export type BrokerConfig = z.infer<typeof BrokerConfigSchema> & {
  advertise: string;
  kafkaAdvertise: string;
  kafkaSecurityProtocol: KafkaSecurityProtocol;
};

const FIELDS: readonly ConfigField[] = [
  { key: 'id', flag: 'id', env: 'STRAND_BROKER_ID' },
  { key: 'listen', flag: 'listen', env: 'STRAND_LISTEN' },
  { key: 'advertise', flag: 'advertise', env: 'STRAND_ADVERTISE' },
  { key: 'coordinators', flag: 'coordinators', env: 'STRAND_COORDINATORS', parse: commaList },
  { key: 'dataDir', flag: 'data', env: 'STRAND_DATA_DIR' },
  { key: 'rack', flag: 'rack', env: 'STRAND_RACK' },
  { key: 'retentionCheckMs', flag: 'retention-check-ms' },
  { key: 'logCleanerEnable', flag: 'log-cleaner-enable' },
  { key: 'logCleanerDedupeBufferSize', flag: 'log-cleaner-dedupe-buffer-size' },
  { key: 'logCleanerIoMaxBytesPerSecond', flag: 'log-cleaner-io-max-bytes-per-second' },
  { key: 'logCleanerBackoffMs', flag: 'log-cleaner-backoff-ms' },
  { key: 'flush', flag: 'flush' },
  { key: 'flushIntervalMs', flag: 'flush-interval-ms' },
  { key: 'traceReplication', flag: 'trace-replication', env: 'STRAND_TRACE_REPLICATION' },
  { key: 'maxRequestBytes', flag: 'max-request-bytes' },
  { key: 'maxOpenFiles', flag: 'max-open-files' },
  { key: 'maxFetchBytes', flag: 'max-fetch-bytes' },
  { key: 'diskReserveBytes', flag: 'disk-reserve-bytes' },
  { key: 'fetchMemoryBytes', flag: 'fetch-memory-bytes' },
  { key: 'replicaLagTimeMaxMs', flag: 'replica-lag-time-max-ms' },
  { key: 'controlledShutdownTimeoutMs', flag: 'controlled-shutdown-timeout-ms' },
  ...CONNECTION_LIMIT_FLAGS,
  ...OPS_FLAGS,
  ...TLS_FLAGS,
  ...AUTH_FLAGS,
  { key: 'kafkaListen', flag: 'kafka-listen', env: 'STRAND_KAFKA_LISTEN' },
  { key: 'kafkaAdvertise', flag: 'kafka-advertise', env: 'STRAND_KAFKA_ADVERTISE' },
  {
    key: 'kafkaSecurityProtocol',
    flag: 'kafka-security-protocol',
    env: 'STRAND_KAFKA_SECURITY_PROTOCOL',
  },
  { key: 'kafkaMaxReauthMs', flag: 'kafka-max-reauth-ms' },
  { key: 'kafkaMaxRequestBytes', flag: 'kafka-max-request-bytes' },
  { key: 'autoCreateTopics', flag: 'auto-create-topics' },
  { key: 'defaultPartitions', flag: 'default-partitions' },
  { key: 'defaultReplicationFactor', flag: 'default-replication-factor' },
];

/**
 * Config from (lowest to highest precedence) a JSON file (`--config` or
 * `STRAND_BROKER_CONFIG`), the environment and the flags listed in FIELDS.
 */
export function loadBrokerConfig(argv: string[], env: NodeJS.ProcessEnv): BrokerConfig {
  const c = loadLayeredConfig({
    what: 'broker',
    argv,
    env,
    configEnv: 'STRAND_BROKER_CONFIG',
    fields: FIELDS,
    schema: BrokerConfigSchema,
  });
  const advertise = c.advertise ?? c.listen;
  return {
    ...c,
    advertise,
    kafkaAdvertise: c.kafkaAdvertise ?? c.kafkaListen ?? advertise,
    kafkaSecurityProtocol: c.kafkaSecurityProtocol ?? defaultKafkaSecurityProtocol(c),
  };
}
