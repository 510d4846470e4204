import * as grpc from '@grpc/grpc-js';

interface Waiter {
  connection: string;
  bytes: number;
  grant: () => void;
}

/**
 * Bytes of fetched records held in memory at once: read from the logs, or written to a
 * client's connection and not yet sent. Bounded for the whole broker and for each connection,
 * so many concurrent fetches, or one client that asks for a lot and never reads its answers,
 * can take only so much. A reservation waits until both bounds have room: first come, first
 * served for the broker's, while one that waits for its own connection's share holds up no
 * other connection (a client that does not read its answers must not stall everyone's). One
 * that finds nothing held at all is granted even if larger than a bound, so that a single
 * large batch still goes out (the bound is then exceeded by that batch alone).
 */
export class FetchMemory {
  private held = 0;
  private highest = 0;
  private readonly perConnection = new Map<string, number>();
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly limit: number,
    readonly connectionLimit: number,
  ) {}

  /** Bytes reserved right now, and the most ever reserved at once. */
  get inFlight(): number {
    return this.held;
  }
  get peak(): number {
    return this.highest;
  }

  /** A lease for one fetch answer on `connection`: every reservation it makes is freed together. */
  lease(connection: string): FetchLease {
    return new FetchLease(this, connection);
  }

  /** Reserves at once if there is room; otherwise undefined. */
  tryReserve(connection: string, bytes: number): boolean {
    if (!this.fits(connection, bytes) || this.waiters.some((w) => this.connectionFits(w)))
      return false;
    this.take(connection, bytes);
    return true;
  }

  /** Waits up to `timeoutMs` for room; resolves whether the bytes were reserved. */
  reserve(connection: string, bytes: number, timeoutMs: number): Promise<boolean> {
    if (this.tryReserve(connection, bytes)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        connection,
        bytes,
        grant: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
        this.pump();
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  free(connection: string, bytes: number): void {
    if (bytes <= 0) return;
    this.held -= bytes;
    const left = (this.perConnection.get(connection) ?? 0) - bytes;
    if (left > 0) this.perConnection.set(connection, left);
    else this.perConnection.delete(connection);
    this.pump();
  }

  private fits(connection: string, bytes: number): boolean {
    return this.brokerFits(bytes) && this.connectionFits({ connection, bytes });
  }

  private brokerFits(bytes: number): boolean {
    return this.held === 0 || this.held + bytes <= this.limit;
  }

  private connectionFits(w: { connection: string; bytes: number }): boolean {
    const mine = this.perConnection.get(w.connection) ?? 0;
    return mine === 0 || mine + w.bytes <= this.connectionLimit;
  }

  private take(connection: string, bytes: number): void {
    this.held += bytes;
    this.highest = Math.max(this.highest, this.held);
    this.perConnection.set(connection, (this.perConnection.get(connection) ?? 0) + bytes);
  }

  /** Grants waiters in order, passing over those whose connection is at its share. */
  private pump(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i]!;
      if (!this.connectionFits(w)) {
        i++;
        continue;
      }
      if (!this.brokerFits(w.bytes)) return;
      this.waiters.splice(i, 1);
      this.take(w.connection, w.bytes);
      w.grant();
    }
  }
}

/** The reservations behind one fetch answer. */
export class FetchLease {
  private held = 0;
  private released = false;

  constructor(
    private readonly memory: FetchMemory,
    private readonly connection: string,
  ) {}

  get bytes(): number {
    return this.held;
  }

  /**
   * Reserves `bytes` more. Only a lease holding nothing waits (up to `waitMs`): one that
   * holds some answers with what it has rather than wait while holding it.
   */
  async reserve(bytes: number, waitMs: number): Promise<boolean> {
    if (this.released) return false;
    const ok =
      this.held === 0
        ? await this.memory.reserve(this.connection, bytes, waitMs)
        : this.memory.tryReserve(this.connection, bytes);
    if (!ok) return false;
    if (this.released) {
      this.memory.free(this.connection, bytes);
      return false;
    }
    this.held += bytes;
    return true;
  }

  /** Gives back what a read reserved and did not use. */
  unreserve(bytes: number): void {
    const n = Math.min(bytes, this.held);
    this.held -= n;
    this.memory.free(this.connection, n);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.unreserve(this.held);
  }
}

/** The key under which a Fetch answer carries its lease to the interceptor below. */
export const FETCH_LEASE = Symbol('fetch lease');

/**
 * Frees a Fetch answer's lease once the answer has left: gRPC ends a call with its status only
 * after the message has been written to the connection, so until then its bytes still count
 * (a client that does not read its answers keeps its memory reserved, and gets no more). A
 * call cancelled before or after its answer frees it too.
 */
export const releaseFetchLeases: grpc.ServerInterceptor = (method, call) => {
  if (!method.path.endsWith('/Fetch')) return new grpc.ServerInterceptingCall(call);
  let lease: FetchLease | undefined;
  let over = false;
  const finish = () => {
    over = true;
    lease?.release();
    lease = undefined;
  };
  return new grpc.ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onCancel: finish,
      }),
    sendMessage: (message, next) => {
      const attached = (message as { [FETCH_LEASE]?: FetchLease } | undefined)?.[FETCH_LEASE];
      if (attached) {
        if (over) attached.release();
        else lease = attached;
      }
      next(message);
    },
    sendStatus: (status, next) => {
      finish();
      next(status);
    },
  });
};
