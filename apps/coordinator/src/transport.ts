import * as grpc from '@grpc/grpc-js';
import type { Transport } from '@strand/kv';
import { kvService } from '@strand/wire';

const MAX_MESSAGE = 64 * 1024 * 1024;

/**
 * Raft messages to each peer over one long-lived gRPC client stream. A broken stream is
 * replaced on the next send; while a stream is backed up, messages are dropped (Raft
 * retransmits), so an unreachable peer never grows memory without bound.
 */
export class GrpcTransport implements Transport {
  private readonly clients = new Map<number, grpc.Client>();
  private readonly streams = new Map<number, grpc.ClientWritableStream<unknown>>();
  private readonly blocked = new Set<number>();

  constructor(private readonly peers: Map<number, string>) {}

  send(to: number, data: Uint8Array): void {
    if (this.blocked.has(to)) return;
    const stream = this.stream(to);
    if (!stream) return;
    if (!stream.write({ data: Buffer.from(data) })) {
      this.blocked.add(to);
      stream.once('drain', () => this.blocked.delete(to));
    }
  }

  close(): void {
    for (const s of this.streams.values()) s.end();
    for (const c of this.clients.values()) c.close();
    this.streams.clear();
    this.clients.clear();
  }

  private stream(to: number): grpc.ClientWritableStream<unknown> | undefined {
    const existing = this.streams.get(to);
    if (existing) return existing;
    const address = this.peers.get(to);
    if (!address) return undefined;
    let client = this.clients.get(to);
    if (!client) {
      const Raft = kvService('Raft');
      client = new Raft(address, grpc.credentials.createInsecure(), {
        'grpc.max_send_message_length': MAX_MESSAGE,
        'grpc.keepalive_time_ms': 2000,
        'grpc.keepalive_timeout_ms': 2000,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
      });
      this.clients.set(to, client);
    }
    const method = (
      client as unknown as {
        Stream: (cb: (err: unknown) => void) => grpc.ClientWritableStream<unknown>;
      }
    ).Stream;
    const stream = method.call(client, () => {
      if (this.streams.get(to) === stream) this.streams.delete(to);
    });
    stream.on('error', () => {
      if (this.streams.get(to) === stream) this.streams.delete(to);
      this.blocked.delete(to);
    });
    this.streams.set(to, stream);
    return stream;
  }
}
