import { BULK_OPTIONS, brokerService, ClientPool } from '@strand/wire';
import type { TokenSource } from '../auth/token-source.js';
import type { ClientSecurity } from '../security.js';

/**
 * One gRPC channel per broker address, shared by everything a Producer, Consumer or Admin
 * sends there. Unary calls get a deadline, and their errors come back as typed StrandErrors.
 */
export class BrokerPool extends ClientPool {
  private readonly tokens: TokenSource | undefined;

  constructor(
    clientId: string,
    security: ClientSecurity = { channels: {} },
    connectTimeoutMs?: number,
  ) {
    super(
      brokerService('Broker'),
      {
        ...BULK_OPTIONS,
        'grpc.primary_user_agent': clientId,
        'grpc.keepalive_time_ms': 30_000,
      },
      security.channels,
      connectTimeoutMs,
    );
    this.tokens = security.tokens;
  }

  override close(): void {
    super.close();
    this.tokens?.close();
  }
}
