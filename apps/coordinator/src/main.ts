#!/usr/bin/env node
import * as grpc from '@grpc/grpc-js';
import { checkDataFormat, DiskGuard } from '@strand/disk';
import { KvNode, Role } from '@strand/kv';
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
  callPrincipal,
  commitChecks,
  grpcRules,
  kvStreamChecks,
  NodeSecurity,
} from '@strand/security';
import {
  ClientTls,
  ConnectionGate,
  type GatedListener,
  grpcServerOptions,
  type LogSink,
  listenGated,
  TlsFiles,
} from '@strand/wire';
import { loadClusterId } from './cluster-id.js';
import { loadConfig } from './config.js';
import { Controller } from './controller/controller.js';
import { addControllerService } from './controller/service.js';
import { CoordinatorMetrics } from './coordinator-metrics.js';
import { GroupCoordinator } from './groups/coordinator.js';
import { addGroupService } from './groups/service.js';
import { addMaintenanceService } from './maintenance.js';
import { MalformedRecords } from './malformed.js';
import { coordinatorReadiness } from './readiness.js';
import { followSecurity } from './security/follow.js';
import { addSecurityService } from './security/security-service.js';
import { createServer } from './server.js';
import { addRaftService, GrpcTransport } from './transport.js';

const hostOf = (address: string) => address.slice(0, address.lastIndexOf(':'));

async function main(useLogger: (log: Logger) => void): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  const log = createLogger({
    app: 'coordinator',
    node: config.id,
    level: config.logLevel,
    format: config.logFormat,
  });
  useLogger(log);
  const t0 = performance.now();
  const peers = new Map(Object.entries(config.peers).map(([id, addr]) => [Number(id), addr]));
  const raftAddresses = new Map(
    Object.entries(config.raftPeers).map(([id, addr]) => [Number(id), addr]),
  );
  checkDataFormat(config.dataDir, 'coordinator');
  const clusterId = await loadClusterId(config.dataDir, config.clusterId, peers);
  const warnings: LogSink = (fields, msg) => log.warn(fields, msg);
  const tlsFiles = TlsFiles.open(config, warnings);
  tlsFiles?.watch();
  const clientTls = tlsFiles && { files: tlsFiles, clientAuth: config.tlsClientAuth };
  const peerTls = tlsFiles && { files: tlsFiles, clientAuth: 'required' as const };
  const identity = {
    maxFormat: config.kvFormatMax,
    clusterId,
    id: config.id,
    log: warnings,
    security: { tls: tlsFiles && new ClientTls(tlsFiles) },
  };
  const transport = new GrpcTransport(raftAddresses, identity);
  const metrics = new Metrics();
  const coordinatorMetrics = new CoordinatorMetrics(metrics, config.dataDir);
  const space = await DiskGuard.open(config.dataDir, {
    reserveBytes: config.diskReserveBytes,
    log: (line) => log.warn(line),
  });
  const node = await KvNode.open({
    events: {
      ...coordinatorMetrics.nodeEvents(),
      membersChanged: (addresses) => transport.setPeers(addresses),
      removed: () =>
        log.warn(
          'this coordinator was removed from the cluster: it takes no part any more; stop it and delete its data folder',
        ),
      roleChanged: ({ leader, role, term }) => {
        if (role === Role.Leader)
          log.info({ term }, 'elected Raft leader: this node is the active controller');
        else if (leader > 0) log.info({ leader, term, role }, 'Raft leader changed');
        else log.warn({ term, role }, 'no Raft leader known');
      },
      storageFailed: (err) => log.fatal({ err }, 'fatal storage error; stopping'),
      formatChanged: (format) =>
        log.info({ format }, `the cluster writes KV commands in entry format ${format} now`),
    },
    id: config.id,
    peers,
    // Its own peer listener too: what the member list shows (and a new member dials).
    raftPeers: config.peerListen
      ? new Map([...raftAddresses, [config.id, config.peerListen]])
      : raftAddresses,
    join: config.join,
    dataDir: config.dataDir,
    space,
    transport,
    tickMs: config.tickMs,
    electionTicks: config.electionTicks,
    snapshotEvery: config.snapshotEvery,
    maxFormat: config.kvFormatMax,
  });
  let admin: AdminServer | undefined;
  if (config.adminListen)
    admin = await startAdminServer({
      listen: config.adminListen,
      advertiseHost: hostOf(config.peers[String(config.id)] ?? config.listen),
      metrics,
      about: { app: 'coordinator', id: config.id },
      ready: () => coordinatorReadiness(node),
      tls: tlsFiles,
      metricsToken: metricsToken({
        ...config,
        authenticationRequired: config.authentication === 'required',
      }),
    });
  const security = new NodeSecurity(config, warnings);
  const unfollow = await followSecurity(node, security.state);
  const leases = {
    leaseKeys: (id: number) => node.sm.leaseKeys(id),
    leaseOwner: (id: number) => node.sm.leaseOwner(id),
  };
  const rules = grpcRules(leases);
  const server = createServer(
    node,
    { ...grpcServerOptions(config), interceptors: [authInterceptor(security, rules)] },
    { adminUrl: admin?.url ?? '', clusterId },
    {
      readable: (metadata, key) => security.canRead(metadata, key),
      authorizeStreamed: (metadata, request) => {
        // Without authorization all is allowed: no session and checks (the keys, and how to
        // name them in a refusal) are built for each request only to be waved through.
        if (!security.guard.enabled) return;
        security.authorize(
          security.sessionOf(metadata),
          kvStreamChecks(request, leases),
          'a KV request',
        );
      },
      // With authentication required a lease is its granter's (see the Lease rules).
      leaseOwner: (metadata) => (security.required ? callPrincipal(metadata) : undefined),
    },
  );
  addAuthService(server, security);
  addMaintenanceService(server, node, clusterId);
  addSecurityService(server, node, security);
  const malformed = new MalformedRecords(warnings);
  const controller = new Controller(node, {
    sessionTimeoutMs: config.brokerSessionTimeoutMs,
    heartbeatIntervalMs: config.brokerHeartbeatMs,
    clusterId,
    malformed,
    log,
  });
  addControllerService(server, controller, node);
  const groups = new GroupCoordinator(node, {
    initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
    commitFlushMs: config.offsetCommitFlushMs,
    malformed,
    rebalanced: (g) => {
      coordinatorMetrics.rebalanced(g.id);
      log.info({ group: g.id, generation: g.generation, members: g.members }, 'group rebalanced');
    },
  });
  coordinatorMetrics.sample(node, controller, groups);
  addGroupService(server, groups, {
    authorize: (metadata, commit) =>
      security.authorize(security.sessionOf(metadata), commitChecks(commit), 'an offset commit'),
    counted: (via, commits) => coordinatorMetrics.commitCall(via, commits),
  });
  const listeners: GatedListener[] = [];
  const gate = new ConnectionGate(config, (fields, msg) =>
    log.warn({ listener: 'client', ...fields }, msg),
  );
  listeners.push(await listenGated(server, config.listen, 'client', gate, { tls: clientTls }));
  const port = listeners[0]!.port;
  // Raft has a listener of its own, which nothing but the Raft service answers on.
  let peerServer: grpc.Server | undefined;
  let peerAt = 'none: the only voter';
  if (config.peerListen) {
    // Only nodes may speak Raft: a certificate of the cluster's CA, and (with authentication
    // required) a super user's name or cluster-action on the cluster.
    peerServer = new grpc.Server({
      ...grpcServerOptions(config),
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      interceptors: [authInterceptor(security, rules)],
    });
    addRaftService(peerServer, node, identity);
    const peer = await listenGated(
      peerServer,
      config.peerListen,
      'peer',
      new ConnectionGate(config, (fields, msg) => log.warn({ listener: 'peer', ...fields }, msg)),
      { tls: peerTls },
    );
    listeners.push(peer);
    peerAt = `${hostOf(config.peerListen)}:${peer.port}`;
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    // Hand leadership over while everything still runs, so the others need no election timeout.
    const successor = await node.handOffLeadership();
    if (successor !== undefined) log.info({ to: successor }, 'handed Raft leadership over');
    controller.close();
    groups.close();
    coordinatorMetrics.close();
    await admin?.close();
    unfollow();
    for (const l of listeners) l.close();
    server.forceShutdown();
    peerServer?.forceShutdown();
    transport.close();
    tlsFiles?.close();
    await node.close();
    space.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Announce readiness only once a signal can stop us cleanly.
  log.info(
    {
      tls: tlsFiles !== undefined,
      authentication: security.required ? 'required' : 'optional',
      peers: peerAt,
      admin: admin?.url ?? 'off',
      cluster: clusterId,
      data: config.dataDir,
      voters: peers.size,
      startMs: Math.round(performance.now() - t0),
    },
    `listening on ${hostOf(config.listen)}:${port}`,
  );
}

runMain('strand-coordinator', main);
