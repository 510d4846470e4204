import { brokerService, ClientPool, LeaderCaller } from '@strand/wire';

/**
 * Calls the active controller: whichever coordinator is the Raft leader, following redirects
 * and retrying unreachable or leaderless coordinators with backoff.
 */
export class ControllerClient extends LeaderCaller {
  constructor(addresses: readonly string[]) {
    super({
      pool: new ClientPool(brokerService('Controller')),
      addresses: () => addresses,
      backoffMs: (attempt) => Math.min(1000, 50 * 2 ** attempt),
      attempts: 8,
      timeoutMs: 5000,
    });
  }
}
