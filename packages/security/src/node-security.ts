import type * as grpc from '@grpc/grpc-js';
import {
  ANONYMOUS,
  Authenticator,
  Authorizer,
  type Check,
  FailureLimiter,
  Guard,
  normalizeHost,
  SecurityKeys,
  SecurityState,
  type Session,
  userPrincipal,
} from '@strand/auth';
import { AuthenticationFailedError, type LogSink, throttledLog } from '@strand/wire';
import type { AuthConfig } from './config.js';

/** The call metadata a client's token travels in. */
export const AUTHORIZATION_HEADER = 'authorization';
/** Where a node's interceptor puts the caller's principal for the handlers (never a client's). */
export const PRINCIPAL_HEADER = 'strand-principal';
/** Where it puts the caller's IP address (what ACLs' hosts match). */
export const HOST_HEADER = 'strand-host';

type AuthContext = ReturnType<grpc.ServerInterceptingCallInterface['getAuthContext']>;

/** Who makes a call: its principal, and the user of its token if it has one. */
export interface CallIdentity {
  principal: string;
  user?: string;
}

/**
 * A node's security at run time: its copy of the users, ACLs and the token key (kept current
 * by `follow`), the authenticator over them, the failure limiter, who its super users are,
 * and — with authentication required — the Guard every request is checked by.
 */
export class NodeSecurity {
  readonly state: SecurityState;
  readonly authenticator: Authenticator;
  readonly limiter = new FailureLimiter();
  readonly required: boolean;
  /** Whether this node's listeners are TLS (PLAIN is accepted over TLS only). */
  readonly tls: boolean;
  private readonly superUsers: Set<string>;
  private readonly throttled: ReturnType<typeof throttledLog>;
  private readonly openCalls = new Map<string, Set<() => void>>();
  private readonly aclListeners = new Set<() => void>();
  /** Checks requests against the ACLs; allows everything unless authentication is required. */
  readonly guard: Guard;

  constructor(
    config: AuthConfig,
    readonly log: LogSink,
  ) {
    this.throttled = throttledLog(log, 10_000);
    this.state = new SecurityState((key, error) => log({ key, error }, 'security record skipped'));
    this.authenticator = new Authenticator(this.state, { tokenTtlMs: config.tokenTtlMs });
    this.required = config.authentication === 'required';
    this.tls = config.tlsCert !== undefined;
    this.superUsers = new Set(config.superUsers);
    const authorizer = this.required
      ? new Authorizer({
          superUsers: config.superUsers,
          allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound,
        })
      : undefined;
    this.guard = new Guard(authorizer);
    this.state.onChange((c) => {
      if (c.t !== 'acls') return;
      authorizer?.setAcls(this.state.acls.values());
      for (const l of [...this.aclListeners]) l();
    });
    this.state.onChange((c) => {
      if (c.t !== 'user' || (c.user && c.user.id === c.previous?.id)) return;
      for (const end of [...(this.openCalls.get(c.name) ?? [])]) end();
    });
  }

  /**
   * Logs a refusal: `msg` says what was refused, `fields` who and where (remote address,
   * principal, mechanism, method...), `reason` why; never a secret. Each kind at most every
   * 10 s.
   */
  complain(msg: string, err: unknown, fields: Record<string, unknown> = {}): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.throttled(`${msg}:${JSON.stringify(fields)}:${reason}`, { ...fields, reason }, msg);
  }

  /** Who makes the call with `metadata`, and from where (as this node's interceptor found). */
  sessionOf(metadata: grpc.Metadata): Session {
    return { principal: callPrincipal(metadata), host: String(metadata.get(HOST_HEADER)[0] ?? '') };
  }

  /**
   * Throws the AuthorizationFailedError of the first of `checks` the session may not make,
   * logged (throttled) with the principal, the operation and the resource.
   */
  authorize(session: Session, checks: Iterable<Check>, what: string): void {
    try {
      this.guard.requireAll(session, checks);
    } catch (err) {
      this.complain('refused a request', err, {
        request: what,
        principal: session.principal,
        remote: session.host || 'unknown',
      });
      throw err;
    }
  }

  /** Runs `listener` after every change of the ACLs; returns what stops it. */
  onAclsChanged(listener: () => void): () => void {
    this.aclListeners.add(listener);
    return () => this.aclListeners.delete(listener);
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

/**
 * The IP address of a grpc-js peer string: `address:port` (`1.2.3.4:5`, `::ffff:1.2.3.4:5`,
 * `::1:5`; grpc-js always appends the port) or `[address]:port`.
 */
export function peerHost(peer: string): string {
  const bracketed = /^\[([^\]]+)\](:\d+)?$/.exec(peer);
  return normalizeHost(bracketed ? bracketed[1]! : peer.replace(/:\d+$/, ''));
}

/** The principal a node's interceptor found for the call (ANONYMOUS when none). */
export function callPrincipal(metadata: grpc.Metadata): string {
  return String(metadata.get(PRINCIPAL_HEADER)[0] ?? ANONYMOUS);
}
