import { BULK_OPTIONS, brokerService, type ChannelSecurity, ClientPool } from '@strand/wire';

/** gRPC channels to the other brokers (followers fetch from leaders through them). */
export class PeerClients extends ClientPool {
  constructor(security: ChannelSecurity = {}) {
    super(brokerService('Broker'), BULK_OPTIONS, security);
  }
}
