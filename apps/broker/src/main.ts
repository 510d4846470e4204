#!/usr/bin/env node
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { KvClient } from '@strand/client';
import { LogManager } from '@strand/log';
import { ConnectionGate, grpcServerOptions, listenGated, StrandError } from '@strand/wire';
import { loadBrokerConfig } from './config.js';
import { ControllerClient } from './controller-client.js';
import { DataPlane } from './data-plane.js';
import { FetchMemory, releaseFetchLeases } from './fetch-memory.js';
import { BrokerIdentity } from './identity.js';
import { Membership } from './membership.js';
import { MetadataCache } from './metadata.js';
import { Partitions } from './partitions.js';
import { PeerClients } from './replica/peer-clients.js';
import { addBrokerService } from './service.js';

const log = (line: string) => console.log(line);

async function main(): Promise<void> {
  const config = loadBrokerConfig(process.argv.slice(2), process.env);
  const identity = await BrokerIdentity.open(config.dataDir, config.id);
  const logs = await LogManager.open(join(config.dataDir, 'logs'), {
    maxOpenFiles: config.maxOpenFiles,
  });
  const kv = new KvClient({ bootstrap: config.coordinators, timeoutMs: 5000 });
  const controller = new ControllerClient(config.coordinators);
  const meta = new MetadataCache(kv, log);
  const peers = new PeerClients();
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
    log,
  });
  // A fetch answer: its records (one batch at most when larger than maxFetchBytes) and up to
  // MAX_FETCH_PARTITIONS partitions' offsets and errors.
  const maxAnswerBytes = Math.max(config.maxFetchBytes, config.maxRequestBytes) + 16 * 1024 * 1024;
  const server = new grpc.Server({
    ...grpcServerOptions(config),
    'grpc.max_receive_message_length': config.maxRequestBytes,
    'grpc.max_send_message_length': maxAnswerBytes,
    interceptors: [releaseFetchLeases],
  });
  const fetchMemory = new FetchMemory(
    config.fetchMemoryBytes,
    Math.max(config.maxFetchBytes, Math.floor(config.fetchMemoryBytes / 4)),
  );
  addBrokerService(server, {
    brokerId: config.id,
    data: new DataPlane(partitions, {
      maxFetchBytes: config.maxFetchBytes,
      maxBatchBytes: config.maxRequestBytes,
    }),
    fetchMemory,
    stats: () => ({
      fetch_bytes_in_flight: fetchMemory.inFlight,
      fetch_bytes_peak: fetchMemory.peak,
      fetch_memory_bytes: fetchMemory.limit,
      open_files: logs.fds.openCount,
      partitions: partitions.hostedCount,
    }),
    meta,
    kv,
    controller,
    settle: () => partitions.sync(),
  });
  const listener = await listenGated(
    server,
    config.listen,
    'client',
    new ConnectionGate(config, log),
  );
  const port = listener.port;
  membership = new Membership(controller, config.id, config.advertise, config.rack, identity, log);
  const member = membership;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`broker ${config.id} stopping (${signal})`);
    member.stop();
    peers.close();
    meta.stop();
    listener.close();
    server.forceShutdown();
    let code = 0;
    try {
      await partitions.close();
    } catch (err) {
      // Whatever could not be saved is rebuilt from the logs at the next start.
      log(`broker ${config.id} could not close every partition cleanly: ${(err as Error).message}`);
      code = 1;
    }
    kv.close();
    controller.close();
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await meta.start();
  await member.start();
  meta.onChange(() => void partitions.sync());
  await partitions.sync();
  await partitions.removeOrphans();
  const host = config.listen.slice(0, config.listen.lastIndexOf(':'));
  log(
    `broker ${config.id} listening on ${host}:${port} (advertised as ${config.advertise}, data in ${config.dataDir}, coordinators ${config.coordinators.join(',')})`,
  );
}

main().catch((err: unknown) => {
  const message =
    err instanceof StrandError ? `${err.code}: ${err.message}` : (err as Error).message;
  console.error(`strand-broker: ${message}`);
  process.exit(1);
});
