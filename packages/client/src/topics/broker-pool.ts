import { BULK_OPTIONS, brokerService, type ChannelSecurity, ClientPool } from '@strand/wire';

/**
 * One gRPC channel per broker address, shared by everything a Producer, Consumer or Admin
 * sends there. Unary calls get a deadline, and their errors come back as typed StrandErrors.
 */
export class BrokerPool extends ClientPool {
  constructor(clientId: string, security: ChannelSecurity = {}) {
    super(
      brokerService('Broker'),
      {
        ...BULK_OPTIONS,
        'grpc.primary_user_agent': clientId,
        'grpc.keepalive_time_ms': 30_000,
      },
      security,
    );
  }
}
