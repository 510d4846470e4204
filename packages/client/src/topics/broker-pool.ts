import * as grpc from '@grpc/grpc-js';
import { brokerService, fromGrpcError, UnavailableError } from '@strand/wire';

type BrokerClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** A unary call in progress: its answer, and a way to abandon it. */
export interface UnaryCall<T> {
  result: Promise<T>;
  cancel(): void;
}

/**
 * One gRPC channel per broker address, shared by everything a Producer, Consumer or Admin
 * sends there. Unary calls get a deadline, and their errors come back as typed StrandErrors.
 */
export class BrokerPool {
  private readonly clients = new Map<string, BrokerClient>();
  private closed = false;

  constructor(private readonly clientId: string) {}

  client(address: string): BrokerClient {
    if (this.closed) throw new UnavailableError('the client is closed');
    let c = this.clients.get(address);
    if (!c) {
      const Ctor = brokerService('Broker');
      c = new Ctor(address, grpc.credentials.createInsecure(), {
        'grpc.primary_user_agent': this.clientId,
        // Fetch answers hold up to maxBytes of records; produce requests whole batches.
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': -1,
        // Fetch answers are megabytes: a 64 KiB HTTP/2 window would cost a round trip per 64 KiB.
        'grpc-node.flow_control_window': 16 * 1024 * 1024,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        'grpc.keepalive_time_ms': 30_000,
      }) as BrokerClient;
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

  /** Drops the channel to an address (e.g. after the broker left the cluster). */
  forget(address: string): void {
    this.clients.get(address)?.close();
    this.clients.delete(address);
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
