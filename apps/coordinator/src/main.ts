#!/usr/bin/env node
import * as grpc from '@grpc/grpc-js';
import { KvNode } from '@strand/kv';
import { StrandError } from '@strand/wire';
import { loadConfig } from './config.js';
import { Controller } from './controller/controller.js';
import { addControllerService } from './controller/service.js';
import { GroupCoordinator } from './groups/coordinator.js';
import { addGroupService } from './groups/service.js';
import { MalformedRecords } from './malformed.js';
import { createServer } from './server.js';
import { GrpcTransport } from './transport.js';

async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  const peers = new Map(Object.entries(config.peers).map(([id, addr]) => [Number(id), addr]));
  const raftAddresses = new Map(peers);
  for (const [id, addr] of Object.entries(config.raftPeers ?? {}))
    raftAddresses.set(Number(id), addr);
  const transport = new GrpcTransport(raftAddresses);
  const node = await KvNode.open({
    id: config.id,
    peers,
    dataDir: config.dataDir,
    transport,
    tickMs: config.tickMs,
    electionTicks: config.electionTicks,
    snapshotEvery: config.snapshotEvery,
  });
  const server = createServer(node);
  const malformed = new MalformedRecords();
  const controller = new Controller(node, {
    sessionTimeoutMs: config.brokerSessionTimeoutMs,
    heartbeatIntervalMs: config.brokerHeartbeatMs,
    malformed,
  });
  addControllerService(server, controller, node);
  const groups = new GroupCoordinator(node, {
    initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
    commitFlushMs: config.offsetCommitFlushMs,
    malformed,
  });
  addGroupService(server, groups);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(config.listen, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`coordinator ${config.id} stopping (${signal})`);
    controller.close();
    groups.close();
    server.forceShutdown();
    transport.close();
    await node.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Announce readiness only once a signal can stop us cleanly.
  const host = config.listen.slice(0, config.listen.lastIndexOf(':'));
  console.log(
    `coordinator ${config.id} listening on ${host}:${port} (data in ${config.dataDir}, ${peers.size} voter${peers.size > 1 ? 's' : ''})`,
  );
}

main().catch((err: unknown) => {
  const message =
    err instanceof StrandError ? `${err.code}: ${err.message}` : (err as Error).message;
  console.error(`strand-coordinator: ${message}`);
  process.exit(1);
});
