import type * as grpc from '@grpc/grpc-js';
import {
  ClientPool,
  COMMIT_OFFSETS_BATCH,
  groupService,
  LeaderCaller,
  type StrandError,
  UnavailableError,
} from '@strand/wire';
import type { BrokerPool } from '../topics/broker-pool.js';
import { backoffMs } from '../topics/options.js';
import type { RawCluster } from '../topics/wire-types.js';

export interface GroupClientContext {
  pool: BrokerPool;
  /** Broker addresses to ask for the coordinators. */
  brokers: () => string[];
  requestTimeoutMs: number;
  retryBackoffMs: number;
}

/**
 * Talks GroupCoordinator (or another coordinator service: Security, for user admin) to the
 * coordinators' Raft leader. The coordinators' addresses come
 * from any broker (DescribeCluster), asked again after a few failed tries; NotLeader answers
 * redirect, unreachable or leaderless coordinators are retried with backoff. Other errors
 * (a rebalance in progress, a stale generation) are the caller's to handle.
 */
export class GroupClient extends LeaderCaller {
  private coordinators: string[] = [];

  constructor(
    private readonly ctx: GroupClientContext,
    service: grpc.ServiceClientConstructor = groupService('GroupCoordinator'),
  ) {
    super({
      // Commits made at once by the consumers of a process go to the coordinator as one call.
      pool: new ClientPool(service, {}, ctx.pool.security).batch(
        'CommitOffsets',
        COMMIT_OFFSETS_BATCH,
      ),
      addresses: () => this.coordinators,
      discover: () => this.discover(),
      retryOn: (e) => e instanceof UnavailableError || e.code === 'TIMEOUT',
      backoffMs: (attempt) => backoffMs(ctx.retryBackoffMs, attempt),
      attempts: 10,
      timeoutMs: ctx.requestTimeoutMs,
    });
  }

  private async discover(): Promise<void> {
    let last: StrandError = new UnavailableError('no broker answered DescribeCluster');
    for (const broker of this.ctx.brokers()) {
      try {
        const c = await this.ctx.pool.unary<RawCluster>(
          broker,
          'DescribeCluster',
          {},
          this.ctx.requestTimeoutMs,
        );
        if (c.coordinators.length === 0) continue;
        this.coordinators = c.coordinators.map((x) => x.address);
        this.setLeader(c.coordinators.find((x) => x.is_leader)?.address);
        return;
      } catch (err) {
        last = err as StrandError;
      }
    }
    throw last;
  }
}
