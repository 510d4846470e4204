import * as grpc from '@grpc/grpc-js';
import type { KvNode, Transport } from '@strand/kv';
import {
  AuthenticationFailedError,
  type ChannelSecurity,
  channelCredentials,
  channelOptions,
  fromGrpcError,
  InconsistentClusterIdError,
  InvalidRequestError,
  kvService,
  type LogSink,
  type StrandError,
  throttledLog,
  toGrpcError,
} from '@strand/wire';

const MAX_MESSAGE = 64 * 1024 * 1024;
/**
 * A Raft message above MAX_MESSAGE goes in pieces of this size (so one below it goes whole,
 * as before: a peer of an earlier version reads it). One reassembled may reach MAX_REASSEMBLED.
 */
const PIECE = 16 * 1024 * 1024;
const MAX_REASSEMBLED = 2 * 1024 * 1024 * 1024;

/** Messages queued on one stream beyond which new ones are dropped (Raft retransmits). */
const MAX_QUEUED = 8192;

/** The same complaint about the same peer is logged at most this often. */
const LOG_EVERY_MS = 30_000;

/** Who a Raft stream comes from, in its call metadata. */
const CLUSTER_HEADER = 'strand-cluster-id';
const FROM_HEADER = 'strand-from';
/**
 * The newest KV entry format the sender reads (see @strand/kv's entry-format.ts). Releases
 * before it send none: they read 0.
 */
const FORMAT_HEADER = 'strand-kv-format';

export interface PeerIdentity {
  clusterId: string;
  /** This node's id. */
  id: number;
  log: LogSink;
  /** TLS to the other coordinators' peer listeners (mutual: they check our certificate). */
  security?: ChannelSecurity;
  /** The newest KV entry format this node reads, told to every peer it streams to. */
  maxFormat: number;
}

/**
 * Raft messages to each peer over one long-lived gRPC client stream to its peer listener,
 * opened with this node's cluster id and node id. A broken stream is replaced on the next
 * send; when a stream's queue passes MAX_QUEUED (an unreachable or stalled peer), messages
 * are dropped, so memory stays bounded. A peer that refuses us (another cluster) is logged.
 */
export class GrpcTransport implements Transport {
  private readonly clients = new Map<number, grpc.Client>();
  private readonly streams = new Map<number, grpc.ClientWritableStream<unknown>>();
  private readonly complain: ReturnType<typeof throttledLog>;
  private peers: ReadonlyMap<number, string>;

  constructor(
    peers: ReadonlyMap<number, string>,
    private readonly identity: PeerIdentity,
  ) {
    this.peers = peers;
    this.complain = throttledLog(identity.log, LOG_EVERY_MS);
  }

  /** The members changed: streams to a peer gone or moved are closed, new ones open on use. */
  setPeers(peers: ReadonlyMap<number, string>): void {
    for (const [id, address] of this.peers) {
      if (peers.get(id) === address) continue;
      this.streams.get(id)?.end();
      this.streams.delete(id);
      this.clients.get(id)?.close();
      this.clients.delete(id);
    }
    this.peers = new Map(peers);
  }

  send(to: number, data: Uint8Array): void {
    const stream = this.stream(to);
    if (!stream || stream.writableLength > MAX_QUEUED) return;
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.length <= MAX_MESSAGE) {
      stream.write({ data: bytes });
      return;
    }
    for (let at = 0; at < bytes.length; at += PIECE) {
      const end = Math.min(bytes.length, at + PIECE);
      stream.write({ data: bytes.subarray(at, end), more: end < bytes.length });
    }
  }

  sending(to: number): boolean {
    return (this.streams.get(to)?.writableLength ?? 0) > 0;
  }

  close(): void {
    for (const s of this.streams.values()) s.end();
    for (const c of this.clients.values()) c.close();
    this.streams.clear();
    this.clients.clear();
  }

  private stream(to: number): grpc.ClientWritableStream<unknown> | undefined {
    const existing = this.streams.get(to);
    if (existing) return existing;
    const address = this.peers.get(to);
    if (!address) return undefined;
    let client = this.clients.get(to);
    if (!client) {
      const Raft = kvService('Raft');
      client = new Raft(address, channelCredentials(this.identity.security), {
        ...channelOptions(this.identity.security ?? {}, address),
        'grpc.max_send_message_length': MAX_MESSAGE,
        'grpc.keepalive_time_ms': 2000,
        'grpc.keepalive_timeout_ms': 2000,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
      });
      this.clients.set(to, client);
    }
    const metadata = new grpc.Metadata();
    metadata.set(CLUSTER_HEADER, this.identity.clusterId);
    metadata.set(FROM_HEADER, String(this.identity.id));
    metadata.set(FORMAT_HEADER, String(this.identity.maxFormat));
    const method = (
      client as unknown as {
        Stream: (
          md: grpc.Metadata,
          cb: (err: unknown) => void,
        ) => grpc.ClientWritableStream<unknown>;
      }
    ).Stream;
    const forget = () => {
      if (this.streams.get(to) === stream) this.streams.delete(to);
    };
    const stream = method.call(client, metadata, (err: unknown) => {
      forget();
      const e = err ? fromGrpcError(err) : undefined;
      if (e instanceof InconsistentClusterIdError || e instanceof AuthenticationFailedError)
        this.complain(
          `out:${to}`,
          { peer: to, address, reason: e.message },
          'a Raft peer refused us',
        );
    });
    stream.on('error', forget);
    this.streams.set(to, stream);
    return stream;
  }
}

/**
 * The Raft service, for the peer listener only: a stream is taken only from a voter of this
 * cluster that says so (cluster id and node id in its metadata), and every message on it must
 * come from that node to this one. Anything else ends the stream with a typed error, logged.
 * (Without TLS a stream's claims cannot be proven: the peer port must be reachable by the
 * coordinators alone. With TLS, the listener admits only certificates of the cluster's CA.)
 */
export function addRaftService(server: grpc.Server, node: KvNode, identity: PeerIdentity): void {
  const complain = throttledLog(identity.log, LOG_EVERY_MS);
  server.addService(kvService('Raft').service, {
    Stream: (
      call: grpc.ServerReadableStream<{ data: Buffer }, unknown>,
      cb: grpc.sendUnaryData<unknown>,
    ) => {
      const peer = call.getPeer();
      let done = false;
      const refuse = (err: StrandError) => {
        if (done) return;
        done = true;
        complain(
          `in:${peer}:${err.code}`,
          { remote: peer, code: err.code, reason: err.message },
          'refused Raft traffic',
        );
        cb(toGrpcError(err));
      };
      const clusterId = String(call.metadata.get(CLUSTER_HEADER)[0] ?? '');
      const from = Number(call.metadata.get(FROM_HEADER)[0] ?? Number.NaN);
      if (clusterId !== identity.clusterId)
        refuse(
          new InconsistentClusterIdError(
            `node ${from} belongs to cluster "${clusterId}", this node (${identity.id}) to "${identity.clusterId}"`,
          ),
        );
      else if (!node.isPeer(from))
        refuse(new AuthenticationFailedError(`node "${from}" is not a member of this cluster`));
      else node.heardFormat(from, formatOf(call.metadata.get(FORMAT_HEADER)[0]));
      const pieces: Buffer[] = [];
      let pieceBytes = 0;
      call.on('data', (env: { data: Buffer; more?: boolean }) => {
        if (done) return;
        if (env.more || pieces.length > 0) {
          pieceBytes += env.data.length;
          if (pieceBytes > MAX_REASSEMBLED) {
            refuse(
              new InvalidRequestError(
                `a Raft message in pieces passed ${MAX_REASSEMBLED} bytes before its last piece`,
              ),
            );
            return;
          }
          pieces.push(env.data);
          if (env.more) return;
        }
        const message = pieces.length > 0 ? Buffer.concat(pieces, pieceBytes) : env.data;
        pieces.length = 0;
        pieceBytes = 0;
        const dropped = node.receive(message, from);
        if (dropped) refuse(new AuthenticationFailedError(dropped));
      });
      call.on('end', () => {
        if (!done) cb(null, {});
        done = true;
      });
      call.on('error', () => undefined);
    },
  });
}

/** A peer's format header: a whole number, else (none, or garbage) 0, the format all read. */
function formatOf(header: grpc.MetadataValue | undefined): number {
  const n = Number(String(header ?? ''));
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
