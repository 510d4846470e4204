import { NotLeaderError, type StrandError, UnavailableError } from '../errors/errors.js';
import type { ClientPool } from './clients.js';

export interface LeaderCallerOptions {
  pool: ClientPool;
  /** The nodes that may lead (e.g. every coordinator). */
  addresses: () => readonly string[];
  /** Learns the addresses afresh; called when none are known and after every few failures. */
  discover?: () => Promise<void>;
  /** Which failures are worth another try elsewhere (default: every retriable one). */
  retryOn?: (e: StrandError) => boolean;
  /** The pause before another try, after `attempt` (from 0) failed. */
  backoffMs: (attempt: number) => number;
  attempts: number;
  timeoutMs: number;
}

/** Waits `ms`, or less when `signal` aborts first. */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((done) => {
    if (signal?.aborted) return done();
    const end = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', end);
      done();
    };
    const timer = setTimeout(end, ms);
    signal?.addEventListener('abort', end);
  });

/**
 * Calls whichever node leads (the coordinators' Raft leader): follows NotLeader redirects and
 * retries unreachable or leaderless nodes with backoff. Every node gets a turn before giving
 * up, since a redirect may name an address this caller cannot use (another network, a proxy):
 * then only trying each in turn finds the leader.
 */
export class LeaderCaller {
  private leader: string | undefined;
  /** Which address answered last (tried first next time). */
  private lastGood = 0;

  constructor(private readonly opts: LeaderCallerOptions) {}

  /** Where the leader is, when something else said so (a redirect still wins later). */
  setLeader(address: string | undefined): void {
    this.leader = address && this.opts.addresses().includes(address) ? address : undefined;
  }

  async call<T>(
    method: string,
    req: unknown,
    opts: { attempts?: number; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<T> {
    const { signal } = opts;
    const retryOn = this.opts.retryOn ?? ((e: StrandError) => e.retriable);
    let last: StrandError | undefined;
    const attempts = Math.max(
      opts.attempts ?? this.opts.attempts,
      this.opts.addresses().length + 1,
    );
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (this.opts.pool.closed) throw new UnavailableError('the client is closed');
      if (signal?.aborted) throw new UnavailableError('given up: the caller stopped waiting');
      const { discover } = this.opts;
      if (discover && (this.opts.addresses().length === 0 || (attempt > 0 && attempt % 4 === 0)))
        await discover().catch((e: StrandError) => {
          last = e;
        });
      const addresses = this.opts.addresses();
      const index = addresses.length > 0 ? (this.lastGood + attempt) % addresses.length : 0;
      const address = this.leader ?? addresses[index];
      if (!address) {
        await sleep(this.opts.backoffMs(attempt), signal);
        continue;
      }
      try {
        const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs;
        const res = await this.opts.pool.unary<T>(address, method, req, timeoutMs);
        if (!this.leader) this.lastGood = index;
        return res;
      } catch (err) {
        const e = err as StrandError;
        last = e;
        if (e instanceof NotLeaderError) {
          this.setLeader(e.leaderAddress);
          // A leader this caller does not know of: the members changed since it last looked.
          if (!this.leader && e.leaderAddress && discover) {
            await discover().catch(() => undefined);
            this.setLeader(e.leaderAddress);
          }
          if (!this.leader && !e.leaderId) await sleep(this.opts.backoffMs(attempt), signal);
          continue;
        }
        if (!retryOn(e)) throw e;
        this.leader = undefined;
        await sleep(this.opts.backoffMs(attempt), signal);
      }
    }
    throw last ?? new UnavailableError('no leader answered');
  }

  close(): void {
    this.opts.pool.close();
  }
}
