import {
  brokerService,
  type ChannelSecurity,
  ClientPool,
  groupService,
  LeaderCaller,
  type LeaderCallerOptions,
  securityService,
  UnavailableError,
} from '@strand/wire';

/** Calls to whichever coordinator is the Raft leader: redirects followed, backoff between tries. */
function leaderOptions(
  pool: ClientPool,
  addresses: readonly string[],
): Omit<LeaderCallerOptions, 'retryOn'> {
  return {
    pool,
    addresses: () => addresses,
    backoffMs: (attempt) => Math.min(1000, 50 * 2 ** attempt),
    attempts: 8,
    timeoutMs: 5000,
  };
}

/**
 * Calls the active controller: whichever coordinator is the Raft leader, following redirects
 * and retrying unreachable or leaderless coordinators with backoff.
 */
export class ControllerClient extends LeaderCaller {
  constructor(addresses: readonly string[], security: ChannelSecurity = {}) {
    super(leaderOptions(new ClientPool(brokerService('Controller'), {}, security), addresses));
  }
}

/**
 * Calls the group coordinator (on the same Raft leader) for Kafka clients' group requests.
 * Only an unavailable coordinator is tried again: a rebalance in progress or a timed-out
 * JoinGroup is the Kafka client's to handle (trying a first join again would add a member).
 */
export class GroupCoordinatorClient extends LeaderCaller {
  constructor(addresses: readonly string[], security: ChannelSecurity = {}) {
    super({
      ...leaderOptions(new ClientPool(groupService('GroupCoordinator'), {}, security), addresses),
      retryOn: (e) => e instanceof UnavailableError,
    });
  }
}

/** Calls the coordinators' Security service (ACL admin for the Kafka listener's clients). */
export class SecurityAdminClient extends LeaderCaller {
  constructor(addresses: readonly string[], security: ChannelSecurity = {}) {
    super(leaderOptions(new ClientPool(securityService('Security'), {}, security), addresses));
  }
}
