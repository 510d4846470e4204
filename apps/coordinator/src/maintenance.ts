import type * as grpc from '@grpc/grpc-js';
import type { KvNode } from '@strand/kv';
import { kvService, snapshotFileChunks, toGrpcError } from '@strand/wire';

/** Resolves once `call` can take more, or has ended (cancelled, closed). */
function drained(call: grpc.ServerWritableStream<unknown, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('close', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('close', done);
    call.on('cancelled', done);
  });
}

/**
 * Maintenance.Snapshot: the leader's KV state machine as a backup file, streamed in pieces of
 * 1 MiB with backpressure (a slow reader holds the stream, not the coordinator's memory).
 */
export function addMaintenanceService(server: grpc.Server, node: KvNode, clusterId: string): void {
  server.addService(kvService('Maintenance').service, {
    Snapshot: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      streamBackup(call, node, clusterId).catch((err: unknown) => {
        if (!call.cancelled) call.emit('error', toGrpcError(err));
      });
    },
  });
}

async function streamBackup(
  call: grpc.ServerWritableStream<unknown, unknown>,
  node: KvNode,
  clusterId: string,
): Promise<void> {
  const backup = await node.backup();
  const header = {
    index: backup.index,
    term: backup.term,
    revision: backup.revision,
    clusterId,
    members: node.status().members.map(({ id, address }) => ({ id, address })),
    createdAt: Date.now(),
  };
  for (const data of snapshotFileChunks(header, backup.data)) {
    if (call.cancelled) return;
    if (!call.write({ data })) await drained(call);
  }
  if (!call.cancelled) call.end();
}
