import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SaslOptions } from '@strand/client';
import type { Cluster } from './clients.js';

/** A user logged in to the console: every page and action runs on their own clients. */
export interface Session {
  readonly id: string;
  readonly user: string;
  /** What every form of theirs that changes something must carry back. */
  readonly csrf: string;
  readonly cluster: Cluster;
  /** Aborted when the session ends: its live tails and watches stop with it. */
  readonly ended: AbortSignal;
  lastSeen: number;
}

/** The session cookie's name. */
export const SESSION_COOKIE = 'strand_console_session';

const token = () => randomBytes(32).toString('base64url');

/** Whether two secrets are the same, in constant time. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The console's logged-in users. A login authenticates against the cluster (the SDK's SCRAM
 * exchange, on the user's own clients) before a session exists; a session unused for
 * `idleMs` ends, and its clients are closed.
 */
export class Sessions {
  private readonly byId = new Map<string, Session & { stop: AbortController }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly connectAs: (sasl: SaslOptions) => Cluster,
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(idleMs, 60_000));
    this.sweeper.unref();
  }

  /**
   * Logs `username` in: their clients ask the cluster for something only an authenticated
   * user gets, so a wrong password fails here (with the SDK's AuthenticationFailedError).
   */
  async login(sasl: SaslOptions): Promise<Session> {
    const cluster = this.connectAs(sasl);
    try {
      await cluster.admin.listTopics();
    } catch (err) {
      await cluster.close();
      throw err;
    }
    const stop = new AbortController();
    const session = {
      id: token(),
      user: sasl.username,
      csrf: token(),
      cluster,
      ended: stop.signal,
      stop,
      lastSeen: this.now(),
    };
    this.byId.set(session.id, session);
    return session;
  }

  /** The session of this id if it is still open (it counts as used). */
  get(id: string | undefined): Session | undefined {
    const s = id === undefined ? undefined : this.byId.get(id);
    if (!s) return undefined;
    if (this.now() - s.lastSeen > this.idleMs) {
      this.end(s.id);
      return undefined;
    }
    s.lastSeen = this.now();
    return s;
  }

  /** Ends a session: its clients are closed, its streams stop. */
  end(id: string): void {
    const s = this.byId.get(id);
    if (!s) return;
    this.byId.delete(id);
    s.stop.abort();
    void s.cluster.close();
  }

  /** The clients of the sessions open now, the most recently used first. */
  clusters(): Cluster[] {
    return [...this.byId.values()].sort((a, b) => b.lastSeen - a.lastSeen).map((s) => s.cluster);
  }

  get size(): number {
    return this.byId.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const id of [...this.byId.keys()]) this.end(id);
  }

  private sweep(): void {
    for (const s of [...this.byId.values()])
      if (this.now() - s.lastSeen > this.idleMs) this.end(s.id);
  }
}

/** The value of cookie `name` in a Cookie header. */
export function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * The session cookie: out of scripts' reach (HttpOnly), never sent by another site's page
 * (SameSite=Strict), only over TLS when the console serves TLS (Secure); gone when the
 * browser closes (the server ends an idle session sooner). `null` clears it.
 */
export function sessionCookie(id: string | null, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${id ?? ''}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    ...(id === null ? ['Max-Age=0'] : []),
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}
