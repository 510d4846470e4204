import type * as grpc from '@grpc/grpc-js';
import {
  ANONYMOUS,
  Authenticator,
  FailureLimiter,
  SecurityKeys,
  SecurityState,
  userPrincipal,
} from '@strand/auth';
import { AuthenticationFailedError, throttledLog } from '@strand/wire';
import type { AuthConfig } from './config.js';

/** The call metadata a client's token travels in. */
export const AUTHORIZATION_HEADER = 'authorization';
/** Where a node's interceptor puts the caller's principal for the handlers (never a client's). */
export const PRINCIPAL_HEADER = 'strand-principal';

type AuthContext = ReturnType<grpc.ServerInterceptingCallInterface['getAuthContext']>;

/** Who makes a call: its principal, and the user of its token if it has one. */
export interface CallIdentity {
  principal: string;
  user?: string;
}

/**
 * A node's security at run time: its copy of the users and the token key (kept current by
 * `follow`), the authenticator over them, the failure limiter, and who its super users are.
 */
export class NodeSecurity {
  readonly state: SecurityState;
  readonly authenticator: Authenticator;
  readonly limiter = new FailureLimiter();
  readonly required: boolean;
  /** Whether this node's listeners are TLS (PLAIN is accepted over TLS only). */
  readonly tls: boolean;
  private readonly superUsers: Set<string>;
  private readonly throttled: (key: string, line: string) => void;
  private readonly openCalls = new Map<string, Set<() => void>>();

  constructor(
    config: AuthConfig,
    readonly log: (line: string) => void,
  ) {
    this.throttled = throttledLog(log, 10_000);
    this.state = new SecurityState((key, error) => log(`security record ${key} skipped: ${error}`));
    this.authenticator = new Authenticator(this.state, { tokenTtlMs: config.tokenTtlMs });
    this.required = config.authentication === 'required';
    this.tls = config.tlsCert !== undefined;
    this.superUsers = new Set(config.superUsers);
    this.state.onChange((c) => {
      if (c.t !== 'user' || (c.user && c.user.id === c.previous?.id)) return;
      for (const end of [...(this.openCalls.get(c.name) ?? [])]) end();
    });
  }

  /** Logs a refusal (its reason, never a secret), each kind at most every 10 s. */
  complain(what: string, err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.throttled(`${what}:${reason}`, `${what}: ${reason}`);
  }

  isSuperUser(principal: string): boolean {
    return this.superUsers.has(principal);
  }

  /** Users' credentials and the token key are for super users (the nodes) alone. */
  canRead(metadata: grpc.Metadata, key: Buffer): boolean {
    return !isSecretKey(key) || this.isSuperUser(callPrincipal(metadata));
  }

  /**
   * Who makes `call`: the user of its token; else the common name of its verified client
   * certificate; else ANONYMOUS. A token that does not verify is an AuthenticationFailedError.
   */
  principalOf(metadata: grpc.Metadata, authContext: AuthContext | null): CallIdentity {
    const header = metadata.get(AUTHORIZATION_HEADER)[0];
    if (header !== undefined) {
      const text = String(header);
      if (!text.startsWith('Bearer '))
        throw new AuthenticationFailedError('the authorization header is not "Bearer <token>"');
      const session = this.authenticator.verify(text.slice('Bearer '.length));
      return { principal: session.principal, user: session.username };
    }
    const cn = authContext?.sslPeerCertificate?.subject?.CN;
    const name = Array.isArray(cn) ? cn[0] : cn;
    return { principal: typeof name === 'string' && name ? userPrincipal(name) : ANONYMOUS };
  }

  /**
   * Runs `end` when `user` is deleted (or deleted and made again) while the call lasts, so a
   * deleted user's open streams end too; returns what forgets it when the call is over.
   */
  onUserGone(user: string, end: () => void): () => void {
    let calls = this.openCalls.get(user);
    if (!calls) {
      calls = new Set();
      this.openCalls.set(user, calls);
    }
    calls.add(end);
    return () => {
      calls.delete(end);
      if (calls.size === 0 && this.openCalls.get(user) === calls) this.openCalls.delete(user);
    };
  }
}

const SECRET_PREFIXES = SecurityKeys.secretPrefixes.map((p) => Buffer.from(p));

/** Whether `key` is a user's credential or the token key. */
export const isSecretKey = (key: Buffer): boolean =>
  SECRET_PREFIXES.some((p) => key.length >= p.length && key.subarray(0, p.length).equals(p));

/** The principal a node's interceptor found for the call (ANONYMOUS when none). */
export function callPrincipal(metadata: grpc.Metadata): string {
  return String(metadata.get(PRINCIPAL_HEADER)[0] ?? ANONYMOUS);
}
