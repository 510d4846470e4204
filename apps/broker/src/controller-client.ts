import * as grpc from '@grpc/grpc-js';
import {
  brokerService,
  fromGrpcError,
  NotLeaderError,
  type StrandError,
  UnavailableError,
} from '@strand/wire';

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls the active controller: whichever coordinator is the Raft leader. Follows NotLeader
 * redirects and retries unreachable or leaderless coordinators with backoff.
 */
export class ControllerClient {
  private readonly clients = new Map<string, AnyClient>();
  private leader: string | undefined;
  /** The index of the coordinator that answered last (tried first next time). */
  private lastGood = 0;

  constructor(private readonly addresses: string[]) {}

  async call<T>(
    method: string,
    req: unknown,
    opts: { attempts?: number; timeoutMs?: number } = {},
  ): Promise<T> {
    // Every coordinator gets a turn: a redirect may name an address we cannot use (another
    // network, a proxy), and then only trying each in turn finds the leader.
    const attempts = Math.max(opts.attempts ?? 8, this.addresses.length + 1);
    let last: StrandError | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const index = (this.lastGood + attempt) % this.addresses.length;
      const address = this.leader ?? this.addresses[index]!;
      try {
        const res = (await this.unary(address, method, req, opts.timeoutMs ?? 5000)) as T;
        if (!this.leader) this.lastGood = index;
        return res;
      } catch (err) {
        const e = fromGrpcError(err);
        last = e;
        if (e instanceof NotLeaderError) {
          this.leader =
            e.leaderAddress && this.addresses.includes(e.leaderAddress)
              ? e.leaderAddress
              : undefined;
          if (!this.leader && !e.leaderId) await sleep(Math.min(1000, 50 * 2 ** attempt));
          continue;
        }
        if (e.retriable) {
          this.leader = undefined;
          await sleep(Math.min(1000, 50 * 2 ** attempt));
          continue;
        }
        throw e;
      }
    }
    throw last ?? new UnavailableError('no controller answered');
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private unary(
    address: string,
    method: string,
    req: unknown,
    timeoutMs: number,
  ): Promise<unknown> {
    let c = this.clients.get(address);
    if (!c) {
      const Ctor = brokerService('Controller');
      c = new Ctor(address, grpc.credentials.createInsecure(), {
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
      }) as AnyClient;
      this.clients.set(address, c);
    }
    const client = c;
    return new Promise((resolve, reject) => {
      client[method]!(req, { deadline: Date.now() + timeoutMs }, (err: unknown, res: unknown) =>
        err ? reject(err) : resolve(res),
      );
    });
  }
}
