#!/usr/bin/env node
import * as grpc from '@grpc/grpc-js';
import { DiskGuard } from '@strand/disk';
import { KvNode } from '@strand/kv';
import { type AdminServer, Metrics, startAdminServer } from '@strand/ops';
import { addAuthService, authInterceptor, NodeSecurity } from '@strand/security';
import {
  ClientTls,
  ConnectionGate,
  type GatedListener,
  grpcServerOptions,
  listenGated,
  StrandError,
  TlsFiles,
} from '@strand/wire';
import { loadClusterId } from './cluster-id.js';
import { loadConfig } from './config.js';
import { Controller } from './controller/controller.js';
import { addControllerService } from './controller/service.js';
import { CoordinatorMetrics } from './coordinator-metrics.js';
import { GroupCoordinator } from './groups/coordinator.js';
import { addGroupService } from './groups/service.js';
import { MalformedRecords } from './malformed.js';
import { coordinatorReadiness } from './readiness.js';
import { followSecurity } from './security/follow.js';
import { addUserService } from './security/user-service.js';
import { createServer } from './server.js';
import { addRaftService, GrpcTransport } from './transport.js';

const log = (line: string) => console.log(line);
const hostOf = (address: string) => address.slice(0, address.lastIndexOf(':'));

async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  const peers = new Map(Object.entries(config.peers).map(([id, addr]) => [Number(id), addr]));
  const raftAddresses = new Map(
    Object.entries(config.raftPeers).map(([id, addr]) => [Number(id), addr]),
  );
  const clusterId = await loadClusterId(config.dataDir, config.clusterId, peers);
  const tlsFiles = TlsFiles.open(config, log);
  tlsFiles?.watch();
  const clientTls = tlsFiles && { files: tlsFiles, clientAuth: config.tlsClientAuth };
  const peerTls = tlsFiles && { files: tlsFiles, clientAuth: 'required' as const };
  const identity = {
    clusterId,
    id: config.id,
    log,
    security: { tls: tlsFiles && new ClientTls(tlsFiles) },
  };
  const transport = new GrpcTransport(raftAddresses, identity);
  const metrics = new Metrics();
  const coordinatorMetrics = new CoordinatorMetrics(metrics, config.dataDir);
  const space = await DiskGuard.open(config.dataDir, {
    reserveBytes: config.diskReserveBytes,
    log,
  });
  const node = await KvNode.open({
    events: coordinatorMetrics.nodeEvents(),
    id: config.id,
    peers,
    dataDir: config.dataDir,
    space,
    transport,
    tickMs: config.tickMs,
    electionTicks: config.electionTicks,
    snapshotEvery: config.snapshotEvery,
  });
  let admin: AdminServer | undefined;
  if (config.adminListen)
    admin = await startAdminServer({
      listen: config.adminListen,
      advertiseHost: hostOf(config.peers[String(config.id)] ?? config.listen),
      metrics,
      about: { app: 'coordinator', id: config.id },
      ready: () => coordinatorReadiness(node),
    });
  const security = new NodeSecurity(config, log);
  const unfollow = await followSecurity(node, security.state);
  const server = createServer(
    node,
    { ...grpcServerOptions(config), interceptors: [authInterceptor(security)] },
    admin?.url ?? '',
    (metadata, key) => security.canRead(metadata, key),
  );
  addAuthService(server, security);
  addUserService(server, node, security);
  const malformed = new MalformedRecords();
  const controller = new Controller(node, {
    sessionTimeoutMs: config.brokerSessionTimeoutMs,
    heartbeatIntervalMs: config.brokerHeartbeatMs,
    clusterId,
    malformed,
  });
  addControllerService(server, controller, node);
  const groups = new GroupCoordinator(node, {
    initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
    commitFlushMs: config.offsetCommitFlushMs,
    malformed,
    rebalanced: (g) => coordinatorMetrics.rebalanced(g.id),
  });
  coordinatorMetrics.sample(node, controller, groups);
  addGroupService(server, groups);
  const listeners: GatedListener[] = [];
  const gate = new ConnectionGate(config, log);
  listeners.push(await listenGated(server, config.listen, 'client', gate, { tls: clientTls }));
  const port = listeners[0]!.port;
  // Raft has a listener of its own, which nothing but the Raft service answers on.
  let peerServer: grpc.Server | undefined;
  let peerAt = 'no peer listener: the only voter';
  if (config.peerListen) {
    peerServer = new grpc.Server({
      ...grpcServerOptions(config),
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
    addRaftService(peerServer, node, identity);
    const peer = await listenGated(
      peerServer,
      config.peerListen,
      'peer',
      new ConnectionGate(config, log),
      { tls: peerTls },
    );
    listeners.push(peer);
    peerAt = `peers on ${hostOf(config.peerListen)}:${peer.port}`;
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`coordinator ${config.id} stopping (${signal})`);
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
  log(
    `coordinator ${config.id} listening on ${hostOf(config.listen)}:${port}${tlsFiles ? ' with TLS' : ''}${security.required ? ', authentication required' : ''} (${peerAt}; admin ${admin?.url ?? 'off'}; cluster ${clusterId}; data in ${config.dataDir}, ${peers.size} voter${peers.size > 1 ? 's' : ''})`,
  );
}

main().catch((err: unknown) => {
  const message =
    err instanceof StrandError ? `${err.code}: ${err.message}` : (err as Error).message;
  console.error(`strand-coordinator: ${message}`);
  process.exit(1);
});
