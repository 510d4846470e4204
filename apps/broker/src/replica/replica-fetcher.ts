import type * as grpc from '@grpc/grpc-js';
import {
  ErrorCode,
  type ErrorFields,
  fromErrorFields,
  fromGrpcError,
  MatchedStream,
  TimeoutError,
  UnavailableError,
} from '@strand/wire';
import type { PeerClients } from './peer-clients.js';

export interface FetchAnswer {
  id: number;
  partitions: {
    high_watermark: number;
    log_start_offset: number;
    records: Buffer;
    error: ErrorFields | null;
  }[];
  error: ErrorFields | null;
}

/** An older leader is upgraded in place during a rolling upgrade: try its stream again then. */
const STREAM_RETRY_MS = 60_000;

/**
 * A follower's fetches, sent to each leader on one FetchStream (every partition followed from
 * that leader shares it): a unary Fetch per fetch costs a gRPC call each, which in grpc-js is
 * most of a follower's CPU. A leader that does not know FetchStream (an older broker, during a
 * rolling upgrade) gets unary Fetch calls for a while, then its stream is tried again. A fetch that outlives its deadline
 * closes its stream: answers come in order of readiness, so a stream that answers nothing in
 * that long is stuck (a half-open connection) and would hold up every fetch sent on it.
 */
export class ReplicaFetcher {
  private readonly streams = new Map<string, MatchedStream<FetchAnswer>>();
  /** Leaders that answered FetchStream UNIMPLEMENTED, and when. */
  private readonly unaryOnly = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly peers: PeerClients,
    /** How long a leader without FetchStream gets unary fetches before a stream is tried again. */
    private readonly streamRetryMs = STREAM_RETRY_MS,
  ) {}

  /** The leader's answer; a request-level error in it is thrown as its typed error. */
  async fetch(address: string, req: object, timeoutMs: number): Promise<FetchAnswer> {
    const res = await this.send(address, req, timeoutMs);
    if (res.error) throw fromErrorFields(res.error);
    return res;
  }

  private async send(address: string, req: object, timeoutMs: number): Promise<FetchAnswer> {
    const unaryAt = this.unaryOnly.get(address);
    if (unaryAt !== undefined && Date.now() - unaryAt < this.streamRetryMs)
      return this.peers.unary(address, 'Fetch', req, timeoutMs);
    const stream = this.stream(address);
    try {
      return await stream.request(req, timeoutMs);
    } catch (err) {
      const e = fromGrpcError(err);
      if (e instanceof TimeoutError) this.drop(address, stream);
      if (e.code !== ErrorCode.Unimplemented) throw e;
      this.unaryOnly.set(address, Date.now());
      this.drop(address, stream);
      return this.peers.unary(address, 'Fetch', req, timeoutMs);
    }
  }

  close(): void {
    this.closed = true;
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
  }

  private stream(address: string): MatchedStream<FetchAnswer> {
    let s = this.streams.get(address);
    if (s && !s.broken) return s;
    if (this.closed) throw new UnavailableError('the replica fetcher is closed');
    const client = this.peers.client(address);
    s = new MatchedStream<FetchAnswer>(
      () => (client.FetchStream as () => grpc.ClientDuplexStream<unknown, unknown>)(),
      'fetch',
    );
    this.streams.set(address, s);
    return s;
  }

  private drop(address: string, stream: MatchedStream<FetchAnswer>): void {
    stream.close();
    if (this.streams.get(address) === stream) this.streams.delete(address);
  }
}
