import type * as grpc from '@grpc/grpc-js';
import {
  AuthenticationFailedError,
  ErrorCode,
  type ErrorFields,
  fromErrorFields,
  fromGrpcError,
  TimeoutError,
  UnavailableError,
} from '@strand/wire';

export type StreamedKind = 'range' | 'put' | 'delete_range' | 'txn';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

type Response = { id: number; response?: string; error?: ErrorFields } & Record<string, unknown>;
type ResponseBatch = { responses: Response[] };

/**
 * Many KV requests multiplexed over one bidirectional gRPC stream to one node, matched to
 * their responses by id; requests (and answers) of one event-loop turn share a message. A stream that breaks fails its outstanding requests: with
 * Unavailable when it never carried anything (nothing was sent), otherwise with a
 * TimeoutError, because those requests may or may not have been applied.
 */
export class KvStream {
  private readonly call: grpc.ClientDuplexStream<unknown, ResponseBatch>;
  private queued: unknown[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private answered = false;
  broken = false;

  constructor(open: () => grpc.ClientDuplexStream<unknown, unknown>) {
    this.call = open() as grpc.ClientDuplexStream<unknown, ResponseBatch>;
    this.call.on('data', (batch: ResponseBatch) => {
      this.answered = true;
      for (const res of batch.responses) this.settle(res);
    });
    this.call.on('error', (err) => this.fail(err));
    this.call.on('end', () => this.fail(undefined));
  }

  request(kind: StreamedKind, req: unknown, timeoutMs: number): Promise<unknown> {
    if (this.broken) return Promise.reject(new UnavailableError('stream closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new TimeoutError(`no answer within ${timeoutMs} ms (the request may still be applied)`),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      // Requests made in one turn of the event loop go out in one message.
      this.queued.push({ id, [kind]: req });
      if (this.queued.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const requests = this.queued;
    this.queued = [];
    if (!this.broken && requests.length > 0) this.call.write({ requests });
  }

  private settle(res: Response): void {
    const p = this.pending.get(res.id);
    if (!p) return;
    this.pending.delete(res.id);
    clearTimeout(p.timer);
    if (res.response === 'error' && res.error) p.reject(fromErrorFields(res.error));
    else p.resolve(res[res.response ?? '']);
  }

  close(): void {
    this.broken = true;
    this.call.cancel();
  }

  private fail(err: unknown): void {
    this.broken = true;
    const cause = err ? fromGrpcError(err) : undefined;
    // Refused before anything was answered: nothing was applied, so say what happened.
    const error =
      // Refused before any answer (unreachable, not served, or not authenticated): nothing was applied.
      !this.answered &&
      (cause instanceof UnavailableError ||
        cause instanceof AuthenticationFailedError ||
        cause?.code === ErrorCode.Unimplemented)
        ? cause
        : new TimeoutError(
            `stream to the coordinator broke${cause ? ` (${cause.message})` : ''}; the request may or may not have been applied`,
          );
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.pending.clear();
  }
}
