import type { KvClient } from '@strand/client';
import {
  brokerService,
  type ChannelSecurity,
  CLASSIC_COMMIT_BATCH,
  ClientPool,
  groupService,
  LeaderCaller,
  type LeaderCallerOptions,
  securityService,
  UnavailableError,
} from '@strand/wire';

/**
 * The coordinators as last learned: those the broker was started with, then whoever the
 * members are (coordinators are added and removed at run time), asked again after failures.
 */
export class CoordinatorSet {
  private list: string[];

  constructor(
    initial: readonly string[],
    private readonly kv: KvClient,
  ) {
    this.list = [...initial];
  }

  addresses(): readonly string[] {
    return this.list;
  }

  async refresh(): Promise<void> {
    const info = await this.kv.members();
    const next = info.members.map((m) => m.address).filter(Boolean);
    if (next.length > 0) this.list = next;
  }
}

/** Calls to whichever coordinator is the Raft leader: redirects followed, backoff between tries. */
function leaderOptions(
  pool: ClientPool,
  coordinators: CoordinatorSet,
): Omit<LeaderCallerOptions, 'retryOn'> {
  return {
    pool,
    addresses: () => coordinators.addresses(),
    discover: () => coordinators.refresh(),
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
  constructor(coordinators: CoordinatorSet, security: ChannelSecurity = {}) {
    super(leaderOptions(new ClientPool(brokerService('Controller'), {}, security), coordinators));
  }
}

/**
 * Calls the group coordinator (on the same Raft leader) for Kafka clients' group requests.
 * Only an unavailable coordinator is tried again: a rebalance in progress or a timed-out
 * JoinGroup is the Kafka client's to handle (trying a first join again would add a member).
 * OffsetCommits of many Kafka clients that arrive at once go to the coordinator as one call.
 */
export class GroupCoordinatorClient extends LeaderCaller {
  constructor(coordinators: CoordinatorSet, security: ChannelSecurity = {}) {
    super({
      ...leaderOptions(
        new ClientPool(groupService('GroupCoordinator'), {}, security).batch(
          'ClassicCommitOffsets',
          CLASSIC_COMMIT_BATCH,
        ),
        coordinators,
      ),
      retryOn: (e) => e instanceof UnavailableError,
    });
  }
}

/** Calls the coordinators' Security service (ACL admin for the Kafka listener's clients). */
export class SecurityAdminClient extends LeaderCaller {
  constructor(coordinators: CoordinatorSet, security: ChannelSecurity = {}) {
    super(leaderOptions(new ClientPool(securityService('Security'), {}, security), coordinators));
  }
}
