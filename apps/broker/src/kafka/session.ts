import {
  ANONYMOUS,
  type Authenticator,
  type FailureLimiter,
  normalizeHost,
  type SaslExchange,
  SCRAM_MECHANISMS,
  userPrincipal,
} from '@strand/auth';
import {
  ApiVersions,
  decodeRequest,
  encodeResponse,
  KafkaError,
  type RequestHeader,
  SaslAuthenticate,
  SaslHandshake,
} from '@strand/kafka-protocol';
import type { FrameAnswer } from './connection.js';
import { type KafkaSecurityProtocol, usesSasl, usesTls } from './security-protocol.js';

/** Kafka's sasl.server.max.receive.size: the largest frame before a client has authenticated. */
export const MAX_UNAUTHENTICATED_FRAME = 512 * 1024;

/** What a Kafka listener's connections are authenticated with (one per listener). */
export interface KafkaListenerSecurity {
  protocol: KafkaSecurityProtocol;
  authenticator: Authenticator;
  /** Failed authentications per client address (a connection ends at its first failure). */
  limiter: FailureLimiter;
  /** --authentication required: an SSL client without a certificate is not served. */
  required: boolean;
  /** connections.max.reauth.ms: how long a SASL session lasts (0: for ever). */
  maxReauthMs: number;
  now(): number;
  /** Runs `end` when `user` is deleted; returns what forgets it. */
  onUserGone(user: string, end: () => void): () => void;
  /** Logs a refusal without secrets, throttled: what, why, and who as fields. */
  complain(msg: string, err: unknown, fields?: Record<string, unknown>): void;
  debug(fields: Record<string, unknown>, msg: string): void;
}

/** The mechanisms a listener offers: PLAIN sends the password itself, so over TLS only. */
export const mechanismsOf = (p: KafkaSecurityProtocol): string[] =>
  usesTls(p) ? [...SCRAM_MECHANISMS, 'PLAIN'] : [...SCRAM_MECHANISMS];

/** A SASL exchange under way: after SaslHandshake v0 raw tokens follow, after v1 SaslAuthenticate. */
interface Pending {
  version: number;
  mechanism: string;
  exchange?: SaslExchange;
}

type StepResult = { reply: Buffer; done: boolean } | { failed: string };

/** An answer, with the body it encodes (what the request metrics count errors in). */
export type SessionAnswer = FrameAnswer & { body?: unknown };

/**
 * One Kafka connection's identity: who it is (`principal`, `host`: what ACLs are checked
 * against) and its SASL exchanges (Kafka's SaslServerAuthenticator). Pure: frames in, answers
 * out, synchronously, so pipelined frames are taken in order. Before a SASL listener's client
 * has authenticated only ApiVersions, SaslHandshake and SaslAuthenticate are served; anything
 * else closes the connection, as Kafka does. A session lasts maxReauthMs, renewed by
 * re-authenticating (KIP-368) as the same user; a deleted user's connection ends.
 */
export class KafkaSession {
  principal: string;
  readonly host: string;
  private authenticated: boolean;
  private pending: Pending | undefined;
  private user = '';
  private expiresAt = 0;
  private forgetUser: (() => void) | undefined;

  constructor(
    private readonly security: KafkaListenerSecurity,
    private readonly conn: { id: string; remoteAddress: string; certificateName?: string },
    private readonly end: (why: string) => void,
    private readonly maxRequestBytes: number,
  ) {
    this.host = normalizeHost(conn.remoteAddress);
    const sasl = usesSasl(security.protocol);
    this.authenticated = !sasl;
    // Kafka's SSL listener: the client certificate's CN (when one is asked for and sent).
    const cn = !sasl && conn.certificateName;
    this.principal = cn ? userPrincipal(cn) : ANONYMOUS;
    if (cn)
      security.debug(
        {
          connection: conn.id,
          remote: this.host,
          principal: this.principal,
          how: 'client certificate',
        },
        'kafka: authenticated',
      );
  }

  /** Why this connection is not served at all (an SSL client with no certificate, say). */
  get refusal(): string | undefined {
    if (this.security.required && this.authenticated && this.principal === ANONYMOUS)
      return 'this cluster requires authentication: connect with a client certificate, or to a SASL listener';
    return undefined;
  }

  /** The largest request accepted now: small until the client has authenticated. */
  maxFrameBytes(): number {
    return this.authenticated ? this.maxRequestBytes : MAX_UNAUTHENTICATED_FRAME;
  }

  /** After SaslHandshake v0, frames are bare SASL tokens, not requests. */
  get expectsRawToken(): boolean {
    return this.pending?.version === 0;
  }

  /** The client's token after SaslHandshake v0; the answer is a bare token too. */
  rawToken(frame: Buffer): FrameAnswer {
    const r = this.step(frame);
    if ('failed' in r) return { chunks: 'close' };
    const size = Buffer.alloc(4);
    size.writeInt32BE(r.reply.length, 0);
    return { chunks: [size, r.reply] };
  }

  /**
   * SASL requests, and what may not be served now: their answer; undefined for requests the
   * API handlers answer (with `principal`).
   */
  intercept(header: RequestHeader, frame: Buffer, bodyOffset: number): SessionAnswer | undefined {
    const sasl = usesSasl(this.security.protocol);
    if (sasl && header.apiKey === SaslHandshake.key)
      if (!this.pending && (!this.authenticated || header.apiVersion >= 1))
        return this.handshake(header, frame, bodyOffset);
    if (header.apiKey === SaslAuthenticate.key && this.pending)
      return this.authenticate(header, frame, bodyOffset);
    if (!this.authenticated) {
      if (header.apiKey === ApiVersions.key && !this.pending) return undefined;
      return this.refuse(
        `API ${header.apiKey} before authenticating (only ApiVersions, SaslHandshake and SaslAuthenticate are served until then)`,
      );
    }
    if (this.expiresAt && this.security.now() >= this.expiresAt)
      return this.refuse(`the session of ${this.principal} expired (it did not re-authenticate)`);
    return undefined;
  }

  /** The connection is gone. */
  close(): void {
    this.forgetUser?.();
    this.forgetUser = undefined;
  }

  private handshake(header: RequestHeader, frame: Buffer, at: number): SessionAnswer {
    const { mechanism } = decodeRequest(SaslHandshake, header.apiVersion, frame, at);
    const mechanisms = mechanismsOf(this.security.protocol);
    const answer = (errorCode: number, thenClose = false): SessionAnswer => {
      const body = { errorCode, mechanisms };
      const { apiVersion, correlationId } = header;
      return {
        chunks: encodeResponse(SaslHandshake, apiVersion, correlationId, body),
        thenClose,
        body,
      };
    };
    if (!mechanisms.includes(mechanism)) {
      this.security.complain(
        'kafka: refused a SASL mechanism',
        `this listener offers ${mechanisms.join(', ')}`,
        { mechanism: mechanism.slice(0, 40), remote: this.host },
      );
      return answer(KafkaError.UNSUPPORTED_SASL_MECHANISM, true);
    }
    this.pending = { version: header.apiVersion, mechanism };
    return answer(KafkaError.NONE);
  }

  private authenticate(header: RequestHeader, frame: Buffer, at: number): SessionAnswer {
    const { authBytes } = decodeRequest(SaslAuthenticate, header.apiVersion, frame, at);
    const r = this.step(authBytes);
    const failed = 'failed' in r;
    const lifetime = !failed && r.done && this.expiresAt ? this.expiresAt - this.security.now() : 0;
    const body = {
      errorCode: failed ? KafkaError.SASL_AUTHENTICATION_FAILED : KafkaError.NONE,
      errorMessage: failed ? r.failed : null,
      authBytes: failed ? Buffer.alloc(0) : r.reply,
      sessionLifetimeMs: lifetime,
    };
    const { apiVersion, correlationId } = header;
    return {
      chunks: encodeResponse(SaslAuthenticate, apiVersion, correlationId, body),
      thenClose: failed,
      body,
    };
  }

  /** One client token through the exchange; a failure ends the connection (after its answer). */
  private step(token: Buffer): StepResult {
    const p = this.pending!;
    const { limiter } = this.security;
    if (!p.exchange) {
      if (!limiter.allowed(this.host)) {
        this.pending = undefined;
        return this.failed(
          `too many failed authentications from ${this.host}: try again in a minute`,
          'rate-limited',
        );
      }
      p.exchange = this.security.authenticator.start(p.mechanism, {
        tls: usesTls(this.security.protocol),
      });
    }
    const ex = p.exchange;
    let reply: Buffer;
    try {
      reply = ex.step(token);
    } catch (err) {
      this.pending = undefined;
      limiter.failed(this.host);
      return this.failed((err as Error).message, ex.reason || (err as Error).message, {
        ...(ex.username ? { user: ex.username.slice(0, 128) } : {}),
        mechanism: p.mechanism,
      });
    }
    if (!ex.done) return { reply, done: false };
    this.pending = undefined;
    if (this.authenticated && ex.username !== this.user)
      return this.failed(
        're-authentication must be as the same user',
        're-authenticated as another user',
        { user: ex.username, previousUser: this.user, mechanism: p.mechanism },
      );
    this.signedIn(ex.username, `${p.mechanism} after SaslHandshake v${p.version}`);
    return { reply, done: true };
  }

  private signedIn(user: string, how: string): void {
    const again = this.authenticated;
    this.authenticated = true;
    this.user = user;
    this.principal = userPrincipal(user);
    const { maxReauthMs } = this.security;
    this.expiresAt = maxReauthMs > 0 ? this.security.now() + maxReauthMs : 0;
    if (!this.forgetUser)
      this.forgetUser = this.security.onUserGone(user, () =>
        this.end(`user "${user}" was deleted`),
      );
    this.security.debug(
      { connection: this.conn.id, remote: this.host, principal: this.principal, how },
      again ? 'kafka: re-authenticated' : 'kafka: authenticated',
    );
  }

  // Logs name the address, not the connection: repeated refusals from one address are one
  // line per ten seconds, however many connections they come on.
  private failed(
    message: string,
    reason: string,
    fields: Record<string, unknown> = {},
  ): StepResult {
    this.security.complain('kafka: authentication failed', reason, {
      ...fields,
      remote: this.host,
    });
    return { failed: message };
  }

  private refuse(why: string): SessionAnswer {
    this.security.complain('kafka: closing a connection', why, {
      remote: this.host,
      principal: this.principal,
    });
    return { chunks: 'close' };
  }
}
