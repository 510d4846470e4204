import * as grpc from '@grpc/grpc-js';
import { ErrorCode, type StrandError, UnavailableError } from '../errors/errors.js';
import {
  type BatchMethod,
  batchUnsupported,
  gather,
  identity,
  noteBatchUnsupported,
  settle,
  type Waiting,
} from './coalesce.js';
import { type ChannelSecurity, channelCredentials, channelOptions } from './credentials.js';
import { fromGrpcError } from './errors.js';

export type RpcClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** A unary call in progress: its answer, and a way to abandon it. */
export interface UnaryCall<T> {
  result: Promise<T>;
  cancel(): void;
}

/** A request waiting in a batch, with the pool that made it. */
interface Gathered {
  pool: ClientPool;
  req: unknown;
}

/** Channel options every Strand client uses: reconnect quickly to a node that comes back. */
export const RECONNECT_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
};

/** For channels that carry records: no message size limit and a window of megabytes. */
export const BULK_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  // Fetch answers are megabytes: a 64 KiB HTTP/2 window would cost a round trip per 64 KiB.
  'grpc-node.flow_control_window': 16 * 1024 * 1024,
};

/**
 * How long a call waits for its channel to connect (Kafka's socket.connection.setup.timeout.ms
 * is 10 s too). A host that is down or cut off answers nothing: without this bound a call
 * waits out its whole deadline (or the OS's two minutes of SYN retries) and fails as a timeout,
 * as if it might have been applied, instead of as unsent, which callers retry elsewhere.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Resolves once `client`'s channel is connected, or when it has just failed to connect (the
 * call then fails at once with gRPC's own UNAVAILABLE, as before); rejects with a retriable
 * UnavailableError when no connection came up within `timeoutMs`: nothing was sent.
 */
export function whenConnected(
  client: grpc.Client,
  address: string,
  timeoutMs: number,
): Promise<void> {
  const channel = client.getChannel();
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const state = channel.getConnectivityState(true);
      if (state !== grpc.connectivityState.IDLE && state !== grpc.connectivityState.CONNECTING) {
        resolve();
        return;
      }
      channel.watchConnectivityState(state, deadline, (err?: Error) => {
        if (err)
          reject(
            new UnavailableError(
              `no connection to ${address} within ${timeoutMs} ms (nothing was sent)`,
            ),
          );
        else check();
      });
    };
    check();
  });
}

/**
 * One gRPC channel per address for one service, shared by every call sent there. Unary calls
 * get a deadline, and their errors come back as typed StrandErrors. A method given a batch
 * form (batch()) is coalesced: see unary().
 */
export class ClientPool {
  private readonly clients = new Map<string, RpcClient>();
  private readonly batches = new Map<string, BatchMethod>();
  private isClosed = false;
  /** What a batch's key says of this pool: calls may share a batch only if they agree on it. */
  private readonly batchKey: string;

  constructor(
    private readonly service: grpc.ServiceClientConstructor,
    private readonly options: grpc.ChannelOptions = {},
    readonly security: ChannelSecurity = {},
    /** How long a call waits for a connection to its address (see DEFAULT_CONNECT_TIMEOUT_MS). */
    private readonly connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS,
  ) {
    this.batchKey = [
      identity(service),
      identity(security.tls),
      identity(security.callCredentials),
      JSON.stringify(options),
      connectTimeoutMs,
    ].join('/');
  }

  /**
   * Lets calls of `method` go many to one call of `batch.method`: see unary(). Returns the
   * pool, for chaining after the constructor.
   */
  batch(method: string, batch: BatchMethod): this {
    this.batches.set(method, batch);
    return this;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  client(address: string): RpcClient {
    if (this.isClosed) throw new UnavailableError('the client is closed');
    let c = this.clients.get(address);
    if (!c) {
      c = new this.service(address, channelCredentials(this.security), {
        ...RECONNECT_OPTIONS,
        ...this.options,
        ...channelOptions(this.security, address),
      }) as RpcClient;
      this.clients.set(address, c);
    }
    return c;
  }

  call<T>(address: string, method: string, req: unknown, timeoutMs: number): UnaryCall<T> {
    let call: grpc.ClientUnaryCall | undefined;
    let cancelled = false;
    const deadline = Date.now() + timeoutMs;
    const result = (async () => {
      const client = this.client(address);
      await whenConnected(client, address, Math.min(timeoutMs, this.connectTimeoutMs));
      if (cancelled) throw new UnavailableError('cancelled before it was sent');
      return new Promise<T>((resolve, reject) => {
        call = client[method]!(req, { deadline }, (err: unknown, res: T) =>
          err ? reject(fromGrpcError(err)) : resolve(res),
        ) as grpc.ClientUnaryCall;
      });
    })().catch((err) => {
      throw fromGrpcError(err);
    });
    return {
      result,
      cancel: () => {
        cancelled = true;
        call?.cancel();
      },
    };
  }

  /**
   * One call's answer. Calls of a method with a batch form, made in the same turn of the event
   * loop to the same address with the same credentials and timeout (from this pool or any
   * other of the process), go as one batch call, each answered on its own; a lone one goes as
   * it is. An address that answers the batch UNIMPLEMENTED (an older server) gets single calls
   * from then on.
   */
  unary<T>(address: string, method: string, req: unknown, timeoutMs: number): Promise<T> {
    const batch = this.batches.get(method);
    if (!batch || batchUnsupported(address, batch.method))
      return this.call<T>(address, method, req, timeoutMs).result;
    const key = [batch.method, address, timeoutMs, this.batchKey].join('\u0000');
    return gather<T>(key, { pool: this, req }, batch.bytes(req), (waiting) =>
      this.sendBatch(address, method, batch, waiting, timeoutMs),
    );
  }

  /** Sends what gathered: alone as a single call, else as a batch through an open pool. */
  private sendBatch(
    address: string,
    method: string,
    batch: BatchMethod,
    waiting: Waiting[],
    timeoutMs: number,
  ): void {
    const open = waiting.filter((w) => {
      if (!(w.request as Gathered).pool.closed) return true;
      w.reject(new UnavailableError('the client is closed'));
      return false;
    });
    const single = (w: Waiting) => {
      const { pool, req } = w.request as Gathered;
      pool.call(address, method, req, timeoutMs).result.then(w.resolve, w.reject);
    };
    const first = open[0];
    if (!first) return;
    if (open.length === 1) {
      single(first);
      return;
    }
    const requests = open.map((w) => (w.request as Gathered).req);
    (first.request as Gathered).pool
      .call(address, batch.method, batch.request(requests), timeoutMs)
      .result.then(
        (res) => settle(open, batch.outcomes(res)),
        (err: StrandError) => {
          if (err.code !== ErrorCode.Unimplemented) throw err;
          noteBatchUnsupported(address, batch.method);
          for (const w of open) single(w);
        },
      )
      .catch((err: unknown) => {
        for (const w of open) w.reject(fromGrpcError(err));
      });
  }

  /** Drops the channel to an address (e.g. after the node left the cluster). */
  forget(address: string): void {
    this.clients.get(address)?.close();
    this.clients.delete(address);
  }

  close(): void {
    this.isClosed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
