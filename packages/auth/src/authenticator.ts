import { AuthenticationFailedError, InvalidRequestError, UnavailableError } from '@strand/wire';
import { parsePlain } from './plain.js';
import {
  isScramMechanism,
  passwordMatches,
  SCRAM_MECHANISMS,
  type ScramMechanism,
  ScramServer,
} from './scram.js';
import type { SecurityState } from './security-state.js';
import { signToken, verifyToken } from './token.js';

export const SASL_MECHANISMS = [...SCRAM_MECHANISMS, 'PLAIN'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export const userPrincipal = (name: string): string => `User:${name}`;

/** One SASL exchange in progress: feed it the client's messages until `done`. */
export interface SaslExchange {
  readonly mechanism: SaslMechanism;
  /** The server's answer to the client's message; throws AuthenticationFailedError. */
  step(message: Buffer): Buffer;
  readonly done: boolean;
  /** Who the client said it is (once its first message arrived). */
  readonly username: string;
  /** Why it failed, for the log (no secret in it). */
  readonly reason: string;
}

export interface AuthenticatorOptions {
  /** How long a session token lasts (default 10 minutes; the SDK renews it before). */
  tokenTtlMs?: number;
  now?: () => number;
}

export interface TokenSession {
  principal: string;
  username: string;
  expiresAt: number;
}

/**
 * Checks who a client is against the users in `state`: SASL exchanges (SCRAM-SHA-256/512,
 * and PLAIN, which only a TLS connection may use: it sends the password itself), and the
 * session tokens an exchange yields.
 */
export class Authenticator {
  readonly tokenTtlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly state: SecurityState,
    opts: AuthenticatorOptions = {},
  ) {
    this.tokenTtlMs = opts.tokenTtlMs ?? 600_000;
    this.now = opts.now ?? Date.now;
  }

  start(mechanism: string, transport: { tls: boolean }): SaslExchange {
    if (mechanism === 'PLAIN') {
      if (!transport.tls)
        throw new AuthenticationFailedError(
          'PLAIN sends the password itself: it is accepted over TLS only (use SCRAM-SHA-512)',
        );
      return new PlainExchange(this.state);
    }
    if (!isScramMechanism(mechanism))
      throw new InvalidRequestError(
        `unsupported SASL mechanism "${mechanism}" (this server offers ${SASL_MECHANISMS.join(', ')})`,
      );
    const server = new ScramServer(
      mechanism,
      (name) => this.state.users.get(name)?.credentials[mechanism],
    );
    return {
      mechanism,
      step: (m) => server.step(m),
      get done() {
        return server.done;
      },
      get username() {
        return server.username;
      },
      get reason() {
        return server.reason;
      },
    };
  }

  /** A token for a user who just authenticated. */
  issueToken(username: string): { token: string; expiresAt: number } {
    const key = this.state.tokenKey;
    const user = this.state.users.get(username);
    if (!key) throw new UnavailableError('this node has no token key yet: try again shortly');
    if (!user) throw new AuthenticationFailedError(`user "${username}" no longer exists`);
    const nowMs = this.now();
    const token = signToken(key, { sub: username, uid: user.id, nowMs, ttlMs: this.tokenTtlMs });
    return { token, expiresAt: nowMs + this.tokenTtlMs };
  }

  /** The session a token stands for; its user must still exist (the same user, not a new one). */
  verify(token: string): TokenSession {
    const key = this.state.tokenKey;
    if (!key) throw new UnavailableError('this node has no token key yet: try again shortly');
    const claims = verifyToken(key, token, this.now());
    const user = this.state.users.get(claims.sub);
    if (!user || user.id !== claims.uid)
      throw new AuthenticationFailedError(`invalid token: user "${claims.sub}" was deleted`);
    return { principal: userPrincipal(claims.sub), username: claims.sub, expiresAt: claims.exp };
  }
}

class PlainExchange implements SaslExchange {
  readonly mechanism = 'PLAIN';
  done = false;
  username = '';
  reason = '';

  constructor(private readonly state: SecurityState) {}

  step(message: Buffer): Buffer {
    if (this.done) throw new AuthenticationFailedError('the PLAIN exchange is over');
    try {
      const m = parsePlain(message);
      this.username = m.username;
      const user = this.state.users.get(m.username);
      // The strongest credential the user has; PLAIN checks the password against it.
      const mechanism = (['SCRAM-SHA-512', 'SCRAM-SHA-256'] as ScramMechanism[]).find(
        (x) => user?.credentials[x],
      );
      if (!user || !mechanism) this.reason = `unknown user "${m.username}"`;
      else if (!passwordMatches(mechanism, user.credentials[mechanism]!, m.password))
        this.reason = `wrong password for "${m.username}"`;
    } catch (err) {
      this.reason = (err as Error).message;
      throw err;
    }
    if (this.reason)
      throw new AuthenticationFailedError('authentication failed: unknown user or wrong password');
    this.done = true;
    return Buffer.alloc(0);
  }
}
