export type Call = 'join' | 'sync';

interface Waiter {
  resolve: (value: never) => void;
  reject: (err: Error) => void;
}

/** Requests of group members that wait for a rebalance step (a JoinGroup, a SyncGroup). */
export class Waiters {
  private readonly byMember = new Map<string, Record<Call, Waiter[]>>();

  wait<T>(memberId: string, call: Call): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let w = this.byMember.get(memberId);
      if (!w) {
        w = { join: [], sync: [] };
        this.byMember.set(memberId, w);
      }
      w[call].push({ resolve: resolve as (v: never) => void, reject });
    });
  }

  resolve<T>(memberId: string, call: Call, value: T): void {
    for (const w of this.take(memberId, call)) (w.resolve as (v: T) => void)(value);
  }

  reject(memberId: string, call: Call, err: Error): void {
    for (const w of this.take(memberId, call)) w.reject(err);
  }

  /** Fails the waits of every member `present` denies: they will never be answered. */
  settle(present: (memberId: string) => boolean, err: (memberId: string) => Error): void {
    for (const memberId of [...this.byMember.keys()])
      if (!present(memberId)) {
        this.reject(memberId, 'join', err(memberId));
        this.reject(memberId, 'sync', err(memberId));
      }
  }

  rejectAll(err: Error): void {
    for (const w of this.byMember.values()) for (const x of [...w.join, ...w.sync]) x.reject(err);
    this.byMember.clear();
  }

  private take(memberId: string, call: Call): Waiter[] {
    const w = this.byMember.get(memberId);
    if (!w) return [];
    const list = w[call];
    w[call] = [];
    if (w.join.length === 0 && w.sync.length === 0) this.byMember.delete(memberId);
    return list;
  }
}
