import * as grpc from '@grpc/grpc-js';
import { brokerService, fromGrpcError } from '@strand/wire';

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** gRPC clients to the other brokers (followers fetch from leaders through them). */
export class PeerClients {
  private readonly clients = new Map<string, AnyClient>();

  call<T>(address: string, method: string, req: unknown, timeoutMs: number): Promise<T> {
    let c = this.clients.get(address);
    if (!c) {
      const Ctor = brokerService('Broker');
      c = new Ctor(address, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': -1,
        'grpc-node.flow_control_window': 16 * 1024 * 1024,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
      }) as AnyClient;
      this.clients.set(address, c);
    }
    const client = c;
    return new Promise((resolve, reject) => {
      client[method]!(req, { deadline: Date.now() + timeoutMs }, (err: unknown, res: T) =>
        err ? reject(fromGrpcError(err)) : resolve(res),
      );
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
