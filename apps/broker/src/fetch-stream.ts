import type * as grpc from '@grpc/grpc-js';
import { parseRequest, toErrorFields } from '@strand/wire';
import type { BrokerMetrics } from './broker-metrics.js';
import type { DataPlane } from './data-plane.js';
import type { FetchLease, FetchMemory } from './fetch-memory.js';
import { FetchRequest } from './requests.js';

export interface FetchStreamDeps {
  data: DataPlane;
  fetchMemory: FetchMemory;
  metrics: BrokerMetrics;
  /** Throws unless the caller may make this fetch (each message is checked on its own). */
  authorizeFetch: (metadata: grpc.Metadata, request: FetchRequest) => void;
}

/**
 * Fetches in flight on one stream before it reads no more of the client's (HTTP/2 flow control
 * then holds the client back): each holds a parsed request and a long-poll until answered.
 */
const MAX_IN_FLIGHT = 4096;

const idOf = (raw: unknown): number => {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : 0;
};

/**
 * FetchStream: each message is a Fetch, answered on its own with the request's id, in whatever
 * order the answers are ready (a long-polling fetch holds up no other). A request that is
 * malformed or refused gets an answer with its error alone; the stream goes on. An answer's
 * records stay counted in the fetch memory until written to the connection, as a unary Fetch
 * answer's do. The stream ends once the client has ended its side and every answer is written.
 */
export function serveFetchStream(
  deps: FetchStreamDeps,
  call: grpc.ServerDuplexStream<unknown, unknown>,
): void {
  const peer = call.getPeer();
  const leases = new Set<FetchLease>();
  let clientEnded = false;
  let over = false;
  const done = (lease: FetchLease) => {
    lease.release();
    leases.delete(lease);
    if (leases.size < MAX_IN_FLIGHT && call.isPaused()) call.resume();
    if (clientEnded && leases.size === 0 && !over) {
      over = true;
      call.end();
    }
  };
  const answer = async (raw: unknown, lease: FetchLease) => {
    const id = idOf(raw);
    try {
      const req = parseRequest(FetchRequest, raw);
      deps.authorizeFetch(call.metadata, req);
      const partitions = await deps.data.fetch(req, lease);
      // Again: ACLs revoked during a long poll must not let its records out.
      deps.authorizeFetch(call.metadata, req);
      return { id, partitions };
    } catch (err) {
      lease.release();
      const error = toErrorFields(err);
      deps.metrics.error('Fetch', error);
      return { id, partitions: [], error };
    }
  };
  call.on('data', (raw: unknown) => {
    if (over) return;
    const lease = deps.fetchMemory.lease(peer);
    leases.add(lease);
    if (leases.size >= MAX_IN_FLIGHT) call.pause();
    void answer(raw, lease).then((res) => {
      if (over || call.cancelled) {
        done(lease);
        return;
      }
      call.write(res, () => done(lease));
    });
  });
  call.on('end', () => {
    clientEnded = true;
    if (leases.size === 0 && !over) {
      over = true;
      call.end();
    }
  });
  call.on('cancelled', () => {
    over = true;
    for (const lease of leases) lease.release();
    leases.clear();
  });
  call.on('error', () => undefined);
}
