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

  constructor(private readonly addresses: string[]) {}

  async call<T>(
    method: string,
    req: unknown,
    opts: { attempts?: number; timeoutMs?: number } = {},
  ): Promise<T> {
    const attempts = opts.attempts ?? 8;
    let last: StrandError | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const address = this.leader ?? this.addresses[attempt % this.addresses.length]!;
      try {
        return (await this.unary(address, method, req, opts.timeoutMs ?? 5000)) as T;
      } catch (err) {
        const e = fromGrpcError(err);
        last = e;
        if (e instanceof NotLeaderError) {
          this.leader =
            e.leaderAddress && this.addresses.includes(e.leaderAddress)
              ? e.leaderAddress
              : undefined;
          if (!this.leader) await sleep(Math.min(1000, 50 * 2 ** attempt));
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
