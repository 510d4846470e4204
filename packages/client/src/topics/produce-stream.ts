import type * as grpc from '@grpc/grpc-js';
import {
  AuthenticationFailedError,
  fromGrpcError,
  MatchedStream,
  UnavailableError,
} from '@strand/wire';
import type { RawProduceResponse } from './wire-types.js';

export interface ProduceRequest {
  acks: number;
  timeout_ms: number;
  partitions: { topic: string; partition: number; records: Buffer }[];
}

/**
 * Produce requests to one broker, many in flight on one bidirectional ProduceStream and
 * matched to their answers by id (a call per request would cost too much in grpc-js).
 * With acks=0 the broker does not answer: such a request is done once written.
 * When the stream breaks (the broker stopped, cancelled its calls, or the connection dropped),
 * every request in flight fails with a retriable error and the producer resends them, as
 * Kafka's clients do on a disconnect: an idempotent producer's retry of a batch the broker
 * already has is answered with its offset, not written again; without idempotence it may be
 * written twice.
 */
export class ProduceStream {
  private readonly stream: MatchedStream<RawProduceResponse>;

  constructor(
    open: () => grpc.ClientDuplexStream<unknown, unknown>,
    private readonly timeoutMs: number,
  ) {
    this.stream = new MatchedStream(open, 'produce', (err, answered) => {
      const cause = fromGrpcError(err);
      // Refused before any answer for want of authentication: nothing was appended, and
      // retrying will not help.
      if (!answered && cause instanceof AuthenticationFailedError) return cause;
      return new UnavailableError(
        `produce stream broke (${cause.message}); its requests may or may not have been appended`,
      );
    });
  }

  get inFlight(): number {
    return this.stream.inFlight;
  }

  get broken(): boolean {
    return this.stream.broken;
  }

  /** Resolves with the answer (undefined for acks=0, once written). */
  send(req: ProduceRequest): Promise<RawProduceResponse | undefined> {
    return req.acks === 0 ? this.stream.post(req) : this.stream.request(req, this.timeoutMs);
  }

  close(): void {
    this.stream.close();
  }
}
