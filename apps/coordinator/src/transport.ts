import * as grpc from '@grpc/grpc-js';
import type { Transport } from '@strand/kv';
import { kvService } from '@strand/wire';

const MAX_MESSAGE = 64 * 1024 * 1024;

/** Messages queued on one stream beyond which new ones are dropped (Raft retransmits). */
const MAX_QUEUED = 8192;

/**
 * Raft messages to each peer over one long-lived gRPC client stream. A broken stream is
 * replaced on the next send; when a stream's queue passes MAX_QUEUED (an unreachable or
 * stalled peer), messages are dropped, so memory stays bounded.
 */
export class GrpcTransport implements Transport {
  private readonly clients = new Map<number, grpc.Client>();
  private readonly streams = new Map<number, grpc.ClientWritableStream<unknown>>();

  constructor(private readonly peers: Map<number, string>) {}

  send(to: number, data: Uint8Array): void {
    const stream = this.stream(to);
    if (!stream || stream.writableLength > MAX_QUEUED) return;
    stream.write({ data: Buffer.from(data) });
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
    });
    this.streams.set(to, stream);
    return stream;
  }
}
