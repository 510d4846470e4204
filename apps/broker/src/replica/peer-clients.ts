import { BULK_OPTIONS, brokerService, ClientPool } from '@strand/wire';

/** gRPC channels to the other brokers (followers fetch from leaders through them). */
export class PeerClients extends ClientPool {
  constructor() {
    super(brokerService('Broker'), BULK_OPTIONS);
  }
}
