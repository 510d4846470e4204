import type * as grpc from '@grpc/grpc-js';
import { UnavailableError } from '../errors/errors.js';
import { type ChannelSecurity, channelCredentials, channelOptions } from './credentials.js';
import { fromGrpcError } from './errors.js';

export type RpcClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** A unary call in progress: its answer, and a way to abandon it. */
export interface UnaryCall<T> {
  result: Promise<T>;
  cancel(): void;
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
 * One gRPC channel per address for one service, shared by every call sent there. Unary calls
 * get a deadline, and their errors come back as typed StrandErrors.
 */
export class ClientPool {
  private readonly clients = new Map<string, RpcClient>();
  private isClosed = false;

  constructor(
    private readonly service: grpc.ServiceClientConstructor,
    private readonly options: grpc.ChannelOptions = {},
    readonly security: ChannelSecurity = {},
  ) {}

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
    const result = new Promise<T>((resolve, reject) => {
      try {
        const client = this.client(address);
        call = client[method]!(req, { deadline: Date.now() + timeoutMs }, (err: unknown, res: T) =>
          err ? reject(fromGrpcError(err)) : resolve(res),
        ) as grpc.ClientUnaryCall;
      } catch (err) {
        reject(fromGrpcError(err));
      }
    });
    return { result, cancel: () => call?.cancel() };
  }

  unary<T>(address: string, method: string, req: unknown, timeoutMs: number): Promise<T> {
    return this.call<T>(address, method, req, timeoutMs).result;
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
