import { brokerService, type ChannelSecurity, ClientPool, LeaderCaller } from '@strand/wire';

/**
 * Calls the active controller: whichever coordinator is the Raft leader, following redirects
 * and retrying unreachable or leaderless coordinators with backoff.
 */
export class ControllerClient extends LeaderCaller {
  constructor(addresses: readonly string[], security: ChannelSecurity = {}) {
    super({
      pool: new ClientPool(brokerService('Controller'), {}, security),
      addresses: () => addresses,
      backoffMs: (attempt) => Math.min(1000, 50 * 2 ** attempt),
      attempts: 8,
      timeoutMs: 5000,
    });
  }
}
