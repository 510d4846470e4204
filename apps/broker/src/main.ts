#!/usr/bin/env node
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { FailureLimiter, SecurityState } from '@strand/auth';
import { AclAdmin, KvClient } from '@strand/client';
import { checkDataFormat, DiskGuard } from '@strand/disk';
import { LogManager } from '@strand/log';
import {
  type AdminServer,
  createLogger,
  type Logger,
  Metrics,
  metricsToken,
  runMain,
  startAdminServer,
} from '@strand/ops';
import {
  addAuthService,
  authInterceptor,
  fetchChecks,
  grpcRules,
  NodeSecurity,
  produceChecks,
} from '@strand/security';
import {
  ClientTls,
  ConnectionGate,
  grpcServerOptions,
  type LogSink,
  listenGated,
  listenSockets,
  TlsFiles,
} from '@strand/wire';
import { BrokerMetrics } from './broker-metrics.js';
import { loadBrokerConfig } from './config.js';
import { controlledShutdown } from './controlled-shutdown.js';
import {
  ControllerClient,
  CoordinatorSet,
  GroupCoordinatorClient,
  SecurityAdminClient,
} from './controller-client.js';
import { DataPlane } from './data-plane.js';
import { FetchMemory, releaseFetchLeases } from './fetch-memory.js';
import { BrokerIdentity } from './identity.js';
import { KafkaMetrics } from './kafka/metrics.js';
import { usesTls } from './kafka/security-protocol.js';
import { serveKafka } from './kafka/serve.js';
import { Membership } from './membership.js';
import { MetadataCache } from './metadata.js';
import { Partitions } from './partitions.js';
import { brokerReadiness } from './readiness.js';
import { PeerClients } from './replica/peer-clients.js';
import { ReplicationTrace } from './replica/replication-trace.js';
import { addBrokerService } from './service.js';
import { TopicAdmin } from './topic-admin.js';

const hostOf = (address: string) => address.slice(0, address.lastIndexOf(':'));
/** What Kafka clients are told the cluster is called (one cluster id per deployment comes later). */
const CLUSTER_ID = 'strand';
/** Failed Kafka authentications from one address within a minute before it is refused unchecked. */
const KAFKA_FAILURES_PER_SOURCE = 10;

/** How often the broker asks who the coordinators are. */
const COORDINATOR_REFRESH_MS = 10_000;

async function main(useLogger: (log: Logger) => void): Promise<void> {
  const config = loadBrokerConfig(process.argv.slice(2), process.env);
  const log = createLogger({
    app: 'broker',
    node: config.id,
    level: config.logLevel,
    format: config.logFormat,
  });
  useLogger(log);
  const t0 = performance.now();
  checkDataFormat(config.dataDir, 'broker');
  const identity = await BrokerIdentity.open(config.dataDir, config.id);
  const metrics = new Metrics();
  const brokerMetrics = new BrokerMetrics(metrics, log);
  const space = await DiskGuard.open(config.dataDir, {
    reserveBytes: config.diskReserveBytes,
    log: (line) => log.warn(line),
  });
  const logs = await LogManager.open(join(config.dataDir, 'logs'), {
    maxOpenFiles: config.maxOpenFiles,
    onFlush: (s) => brokerMetrics.flushed(s),
    space,
  });
  const warnings: LogSink = (fields, msg) => log.warn(fields, msg);
  const tlsFiles = TlsFiles.open(config, warnings);
  tlsFiles?.watch();
  // The node's own certificate, both to serve and to dial the others (mutual TLS).
  const channels = { tls: tlsFiles && new ClientTls(tlsFiles) };
  const kv = new KvClient({ bootstrap: config.coordinators, timeoutMs: 5000, tls: channels.tls });
  const coordinators = new CoordinatorSet(config.coordinators, kv);
  const controller = new ControllerClient(coordinators, channels);
  const groups = new GroupCoordinatorClient(coordinators, channels);
  const securityAdmin = new SecurityAdminClient(coordinators, channels);
  // Coordinators are added and removed at run time: look again now and then, not only on failures.
  const refreshCoordinators = setInterval(
    () => void coordinators.refresh().catch(() => undefined),
    COORDINATOR_REFRESH_MS,
  );
  refreshCoordinators.unref();
  const security = new NodeSecurity(config, warnings);
  // Users and the token key come with the rest of /strand/ (readable by this node's certificate).
  const meta = new MetadataCache(kv, log, (key, value) => {
    if (SecurityState.concerns(key)) security.state.apply(key, value);
  });
  const peers = new PeerClients(channels);
  const trace = config.traceReplication
    ? new ReplicationTrace(config.traceReplication, config.id)
    : undefined;
  let membership: Membership | undefined;
  const partitions = new Partitions(logs, meta, {
    brokerId: config.id,
    brokerEpoch: () => membership?.epoch ?? 0,
    brokerToken: identity.token,
    replicaLagMs: config.replicaLagTimeMaxMs,
    controller,
    peers,
    durability:
      config.flush === 'interval'
        ? { mode: 'interval', intervalMs: config.flushIntervalMs, bytes: 4 * 1024 * 1024 }
        : { mode: config.flush },
    maxAppendBytes: config.maxRequestBytes,
    retentionCheckMs: config.retentionCheckMs,
    cleaner: config.logCleanerEnable
      ? {
          dedupeBufferBytes: config.logCleanerDedupeBufferSize,
          ioMaxBytesPerSecond: config.logCleanerIoMaxBytesPerSecond || Number.POSITIVE_INFINITY,
          backoffMs: config.logCleanerBackoffMs,
        }
      : undefined,
    log,
    isrChanged: (before, after) => brokerMetrics.isrChanged(before, after),
    space,
    trace,
  });
  // A fetch answer: its records (one batch at most when larger than maxFetchBytes) and up to
  // MAX_FETCH_PARTITIONS partitions' offsets and errors.
  const maxAnswerBytes = Math.max(config.maxFetchBytes, config.maxRequestBytes) + 16 * 1024 * 1024;
  const server = new grpc.Server({
    ...grpcServerOptions(config),
    'grpc.max_receive_message_length': config.maxRequestBytes,
    'grpc.max_send_message_length': maxAnswerBytes,
    interceptors: [authInterceptor(security, grpcRules()), releaseFetchLeases],
  });
  const fetchMemory = new FetchMemory(
    config.fetchMemoryBytes,
    Math.max(config.maxFetchBytes, Math.floor(config.fetchMemoryBytes / 4)),
  );
  const data = new DataPlane(
    partitions,
    {
      maxFetchBytes: config.maxFetchBytes,
      maxBatchBytes: config.maxRequestBytes,
    },
    brokerMetrics,
  );
  const topicAdmin = new TopicAdmin(meta, kv, controller, () => partitions.sync());
  addBrokerService(server, {
    brokerId: config.id,
    data,
    meta,
    admin: topicAdmin,
    controller,
    fetchMemory,
    stats: () => ({
      fetch_bytes_in_flight: fetchMemory.inFlight,
      fetch_bytes_peak: fetchMemory.peak,
      fetch_memory_bytes: fetchMemory.limit,
      open_files: logs.fds.openCount,
      partitions: partitions.hostedCount,
    }),
    metrics: brokerMetrics,
    authorizeProduce: (metadata, request) =>
      security.authorize(security.sessionOf(metadata), produceChecks(request), 'a produce'),
    authorizeFetch: (metadata, request) =>
      security.authorize(security.sessionOf(metadata), fetchChecks(request), 'a fetch'),
  });
  addAuthService(server, security);
  const kafka = serveKafka({
    brokerId: config.id,
    clusterId: CLUSTER_ID,
    data,
    fetchMemory,
    meta,
    admin: topicAdmin,
    controller,
    groups,
    acls: new AclAdmin(securityAdmin),
    config: {
      autoCreateTopics: config.autoCreateTopics,
      defaultPartitions: config.defaultPartitions,
      defaultReplicationFactor: config.defaultReplicationFactor,
      maxRequestBytes: config.kafkaMaxRequestBytes,
      connectionsMaxIdleMs: config.connectionsMaxIdleMs,
    },
    guard: security.guard,
    security: {
      protocol: config.kafkaSecurityProtocol,
      authenticator: security.authenticator,
      limiter: new FailureLimiter({ maxFailures: KAFKA_FAILURES_PER_SOURCE, windowMs: 60_000 }),
      required: security.required,
      maxReauthMs: config.kafkaMaxReauthMs,
      now: Date.now,
      onUserGone: (user, end) => security.onUserGone(user, end),
      complain: (msg, err, fields) => security.complain(msg, err, fields),
      debug: (fields, msg) => log.debug(fields, msg),
    },
    log: warnings,
    metrics: new KafkaMetrics(metrics),
  });
  const gate = new ConnectionGate(config, (fields, msg) =>
    log.warn({ listener: 'client', ...fields }, msg),
  );
  const tls = tlsFiles && { files: tlsFiles, clientAuth: config.tlsClientAuth };
  // gRPC and, unless Kafka clients have a port of their own, Kafka on `listen`: each
  // connection goes where its first (decrypted) bytes say.
  const listeners = [
    await listenGated(server, config.listen, 'client', gate, {
      tls,
      other: config.kafkaListen ? undefined : kafka,
    }),
  ];
  if (config.kafkaListen)
    listeners.push(
      await listenSockets(config.kafkaListen, gate, kafka, {
        tls: usesTls(config.kafkaSecurityProtocol) ? tls : undefined,
      }),
    );
  const port = listeners[0]!.port;
  // Kafka clients are told the Kafka address only where it differs from the gRPC one.
  const kafkaAddress = config.kafkaAdvertise === config.advertise ? '' : config.kafkaAdvertise;
  // From SIGTERM on: /readyz says shuttingDown while the controlled shutdown runs.
  let stopping = false;
  // The admin listener comes up first: its URL goes into the registration.
  let admin: AdminServer | undefined;
  if (config.adminListen) {
    admin = await startAdminServer({
      listen: config.adminListen,
      advertiseHost: hostOf(config.advertise),
      metrics,
      about: { app: 'broker', id: config.id },
      ready: () =>
        membership
          ? brokerReadiness(config.id, membership, meta, { shuttingDown: stopping })
          : {
              ready: false,
              shuttingDown: stopping,
              checks: { registered: { ok: false, detail: 'starting' } },
            },
      tls: tlsFiles,
      metricsToken: metricsToken({
        ...config,
        authenticationRequired: config.authentication === 'required',
      }),
    });
  }
  membership = new Membership(
    controller,
    config.id,
    config.advertise,
    config.rack,
    identity,
    kafkaAddress,
    log,
    admin?.url ?? '',
  );
  const member = membership;
  brokerMetrics.sample(config.id, {
    hosted: () => partitions.hostedReplicas(),
    registered: () => brokerReadiness(config.id, member, meta).checks.registered?.ok === true,
    metadataRevision: () => meta.revision,
    connectionsOpen: () => gate.open,
    cleanedBytes: () => partitions.cleanedBytes,
    dirtyRatio: (h) => partitions.cleanerProgress(h)?.dirtyRatio,
  });

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await controlledShutdown(member, meta, config.controlledShutdownTimeoutMs, log);
    member.stop();
    peers.close();
    meta.stop();
    for (const l of listeners) l.close();
    server.forceShutdown();
    await admin?.close();
    let code = 0;
    try {
      await partitions.close();
    } catch (err) {
      // Whatever could not be saved is rebuilt from the logs at the next start.
      log.error({ err }, 'could not close every partition cleanly');
      code = 1;
    }
    await trace?.close();
    space.close();
    clearInterval(refreshCoordinators);
    kv.close();
    controller.close();
    tlsFiles?.close();
    groups.close();
    securityAdmin.close();
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await meta.startWhenReachable();
  await member.start();
  meta.onChange(() => void partitions.sync());
  await partitions.sync();
  await partitions.removeOrphans();
  const kafkaAt = `${config.kafkaSecurityProtocol} Kafka clients on ${config.kafkaListen ?? 'the same port'}`;
  log.info(
    {
      tls: tlsFiles !== undefined,
      authentication: security.required ? 'required' : 'optional',
      advertised: config.advertise,
      kafka: kafkaAt,
      kafkaAdvertised: config.kafkaAdvertise,
      admin: admin?.url ?? 'off',
      data: config.dataDir,
      coordinators: config.coordinators,
      partitions: partitions.hostedCount,
      startMs: Math.round(performance.now() - t0),
    },
    `listening on ${hostOf(config.listen)}:${port}`,
  );
}

runMain('strand-broker', main);
