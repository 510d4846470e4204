import type * as grpc from '@grpc/grpc-js';
import {
  AuthenticationFailedError,
  fromGrpcError,
  TimeoutError,
  UnavailableError,
} from '@strand/wire';
import type { RawProduceResponse } from './wire-types.js';

export interface ProduceRequest {
  acks: number;
  timeout_ms: number;
  partitions: { topic: string; partition: number; records: Buffer }[];
}

interface Pending {
  resolve: (res: RawProduceResponse | undefined) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
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
  private readonly call: grpc.ClientDuplexStream<unknown, RawProduceResponse>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private answered = false;
  broken = false;

  constructor(
    open: () => grpc.ClientDuplexStream<unknown, unknown>,
    private readonly timeoutMs: number,
  ) {
    this.call = open() as grpc.ClientDuplexStream<unknown, RawProduceResponse>;
    this.call.on('data', (res: RawProduceResponse) => this.settle(res));
    this.call.on('error', (err) => this.fail(err));
    this.call.on('end', () => this.fail(undefined));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Resolves with the answer (undefined for acks=0, once written). */
  send(req: ProduceRequest): Promise<RawProduceResponse | undefined> {
    if (this.broken) return Promise.reject(new UnavailableError('produce stream closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (req.acks === 0) {
        this.call.write({ id, ...req }, (err: unknown) =>
          err ? reject(fromGrpcError(err)) : resolve(undefined),
        );
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(`no produce answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.call.write({ id, ...req });
    });
  }

  private settle(res: RawProduceResponse): void {
    this.answered = true;
    const p = this.pending.get(res.id);
    if (!p) return;
    this.pending.delete(res.id);
    clearTimeout(p.timer);
    p.resolve(res);
  }

  close(): void {
    if (this.broken) return;
    this.broken = true;
    this.call.end();
    this.call.cancel();
    this.fail(undefined);
  }

  private fail(err: unknown): void {
    this.broken = true;
    const cause = err ? fromGrpcError(err) : undefined;
    // Refused before any answer for want of authentication: nothing was appended, and
    // retrying will not help.
    const error =
      !this.answered && cause instanceof AuthenticationFailedError
        ? cause
        : new UnavailableError(
            `produce stream broke${cause ? ` (${cause.message})` : ''}; its requests may or may not have been appended`,
          );
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.pending.clear();
  }
}
