import type * as grpc from '@grpc/grpc-js';
import { type StrandError, TimeoutError, UnavailableError } from '../errors/errors.js';
import { fromGrpcError } from './errors.js';

/** An answer on a matched stream: it names the request it answers. */
export interface Matched {
  id: number;
}

/**
 * What the requests in flight fail with when the stream errors (`err`, never undefined) or
 * ends; `answered` says whether any answer had come before.
 */
export type BreakError = (err: unknown, answered: boolean) => StrandError;

interface Pending<Res> {
  resolve: (res: Res) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Many requests in flight on one bidirectional gRPC stream, each matched to its answer by the
 * id it is sent with (answers may come in any order): a unary call per request costs too much
 * in grpc-js. Once the stream errors or ends, every request in flight fails and the stream
 * takes no more (`broken`): the caller opens another.
 */
export class MatchedStream<Res extends Matched> {
  private readonly call: grpc.ClientDuplexStream<unknown, Res>;
  private readonly pending = new Map<number, Pending<Res>>();
  private nextId = 1;
  private answered = false;
  private isBroken = false;

  constructor(
    open: () => grpc.ClientDuplexStream<unknown, unknown>,
    /** What the stream carries, for messages ("produce", "fetch"). */
    private readonly what: string,
    private readonly breakError: BreakError = (err) => fromGrpcError(err),
  ) {
    this.call = open() as grpc.ClientDuplexStream<unknown, Res>;
    this.call.on('data', (res: Res) => this.settle(res));
    this.call.on('error', (err) => this.fail(err));
    this.call.on('end', () => this.fail(undefined));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  get broken(): boolean {
    return this.isBroken;
  }

  /** Sends `req` with a new id; resolves with the answer of that id. */
  request(req: object, timeoutMs: number): Promise<Res> {
    if (this.isBroken) return Promise.reject(this.closedError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(`no ${this.what} answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.call.write({ ...req, id });
    });
  }

  /** Sends `req` with a new id and expects no answer: resolves once it has been written. */
  post(req: object): Promise<undefined> {
    if (this.isBroken) return Promise.reject(this.closedError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.call.write({ ...req, id }, (err: unknown) =>
        err ? reject(fromGrpcError(err)) : resolve(undefined),
      );
    });
  }

  close(): void {
    if (this.isBroken) return;
    this.fail(undefined); // first: the cancellation below must not fail them as a break
    this.call.end();
    this.call.cancel();
  }

  private settle(res: Res): void {
    this.answered = true;
    const p = this.pending.get(res.id);
    if (!p) return; // timed out meanwhile
    this.pending.delete(res.id);
    clearTimeout(p.timer);
    p.resolve(res);
  }

  private closedError(): StrandError {
    return new UnavailableError(`${this.what} stream closed`);
  }

  private fail(err: unknown): void {
    this.isBroken = true;
    if (this.pending.size === 0) return;
    const error = err === undefined ? this.closedError() : this.breakError(err, this.answered);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.pending.clear();
  }
}
