import type * as grpc from '@grpc/grpc-js';
import {
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

/**
 * Many KV requests multiplexed over one bidirectional gRPC stream to one node, matched to
 * their responses by id. A stream that breaks fails its outstanding requests: with
 * Unavailable when it never carried anything (nothing was sent), otherwise with a
 * TimeoutError, because those requests may or may not have been applied.
 */
export class KvStream {
  private readonly call: grpc.ClientDuplexStream<unknown, Response>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private answered = false;
  broken = false;

  constructor(open: () => grpc.ClientDuplexStream<unknown, unknown>) {
    this.call = open() as grpc.ClientDuplexStream<unknown, Response>;
    this.call.on('data', (res: Response) => {
      this.answered = true;
      const p = this.pending.get(res.id);
      if (!p) return;
      this.pending.delete(res.id);
      clearTimeout(p.timer);
      if (res.response === 'error' && res.error) p.reject(fromErrorFields(res.error));
      else p.resolve(res[res.response ?? '']);
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
      this.call.write({ id, [kind]: req });
    });
  }

  close(): void {
    this.broken = true;
    this.call.cancel();
  }

  private fail(err: unknown): void {
    this.broken = true;
    const cause = err ? fromGrpcError(err) : undefined;
    const error =
      !this.answered && cause instanceof UnavailableError
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
