import * as grpc from '@grpc/grpc-js';
import {
  fromGrpcError,
  groupService,
  NotLeaderError,
  type StrandError,
  UnavailableError,
} from '@strand/wire';
import type { BrokerPool } from '../topics/broker-pool.js';
import { backoffMs, sleep } from '../topics/options.js';
import type { RawCluster } from '../topics/wire-types.js';

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

export interface GroupClientContext {
  pool: BrokerPool;
  /** Broker addresses to ask for the coordinators. */
  brokers: () => string[];
  requestTimeoutMs: number;
  retryBackoffMs: number;
}

/**
 * Talks GroupCoordinator to the coordinators' Raft leader. The coordinators' addresses come
 * from any broker (DescribeCluster) once; NotLeader answers redirect, unreachable or leaderless
 * coordinators are retried with backoff, and after a full round of failures the addresses are
 * asked for again.
 */
export class GroupClient {
  private readonly clients = new Map<string, AnyClient>();
  private coordinators: string[] = [];
  private leader: string | undefined;
  private closed = false;

  constructor(private readonly ctx: GroupClientContext) {}

  /**
   * A call with retries on NotLeader and transport failures for up to `attempts` tries.
   * `timeoutMs` bounds each try (JoinGroup long-polls for a whole rebalance).
   */
  async call<T>(
    method: string,
    req: unknown,
    opts: { attempts?: number; timeoutMs?: number } = {},
  ): Promise<T> {
    const attempts = opts.attempts ?? 10;
    let last: StrandError = new UnavailableError('no coordinator answered');
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (this.closed) throw new UnavailableError('the client is closed');
      if (this.coordinators.length === 0 || (attempt > 0 && attempt % 4 === 0))
        await this.discover().catch((e: StrandError) => {
          last = e;
        });
      const address = this.leader ?? this.coordinators[attempt % this.coordinators.length];
      if (!address) {
        await sleep(backoffMs(this.ctx.retryBackoffMs, attempt));
        continue;
      }
      try {
        return await this.unary<T>(
          address,
          method,
          req,
          opts.timeoutMs ?? this.ctx.requestTimeoutMs,
        );
      } catch (err) {
        const e = fromGrpcError(err);
        last = e;
        if (e instanceof NotLeaderError) {
          this.leader = e.leaderAddress || undefined;
          if (this.leader && !this.coordinators.includes(this.leader))
            this.coordinators.push(this.leader);
          if (!this.leader) await sleep(backoffMs(this.ctx.retryBackoffMs, attempt));
          continue;
        }
        if (e instanceof UnavailableError || e.code === 'TIMEOUT') {
          this.leader = undefined;
          await sleep(backoffMs(this.ctx.retryBackoffMs, attempt));
          continue;
        }
        throw e;
      }
    }
    throw last;
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
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
        this.leader = c.coordinators.find((x) => x.is_leader)?.address;
        return;
      } catch (err) {
        last = err as StrandError;
      }
    }
    throw last;
  }

  private unary<T>(address: string, method: string, req: unknown, timeoutMs: number): Promise<T> {
    let c = this.clients.get(address);
    if (!c) {
      const Ctor = groupService('GroupCoordinator');
      c = new Ctor(address, grpc.credentials.createInsecure(), {
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
      }) as AnyClient;
      this.clients.set(address, c);
    }
    const client = c;
    return new Promise<T>((resolve, reject) => {
      client[method]!(req, { deadline: Date.now() + timeoutMs }, (err: unknown, res: T) =>
        err ? reject(err) : resolve(res),
      );
    });
  }
}
