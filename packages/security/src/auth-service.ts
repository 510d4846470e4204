import { randomBytes } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { SaslExchange } from '@strand/auth';
import {
  AuthenticationFailedError,
  InvalidRequestError,
  parseRequest,
  securityService,
  unaryHandler,
} from '@strand/wire';
import { z } from 'zod';
import type { NodeSecurity } from './node-security.js';

/** An exchange not finished within this long is dropped. */
const EXCHANGE_TTL_MS = 30_000;
/** Exchanges in progress at once on one node (the oldest go first). */
const MAX_EXCHANGES = 10_000;

const AuthenticateRequest = z.object({
  mechanism: z.string().max(32),
  message: z.instanceof(Buffer).refine((b) => b.length <= 4096, 'a SASL message is at most 4 KiB'),
  exchange_id: z.string().max(64),
});

interface Pending {
  exchange: SaslExchange;
  connection: string;
  startedAt: number;
}

/**
 * Auth.Authenticate: SASL exchanges (SCRAM-SHA-256/512; PLAIN on TLS connections only) whose
 * last step yields a session token. A connection that fails too often is refused unchecked
 * for a while; every failure is logged with its reason (never a secret), throttled.
 */
export function addAuthService(server: grpc.Server, security: NodeSecurity): void {
  const pending = new Map<string, Pending>();
  const authenticate = async (
    raw: unknown,
    call: grpc.ServerUnaryCall<unknown, unknown>,
  ): Promise<unknown> => {
    const r = parseRequest(AuthenticateRequest, raw);
    const connection = call.getPeer();
    if (!security.limiter.allowed(connection))
      throw new AuthenticationFailedError(
        'too many failed authentications from this connection: wait a minute',
      );
    const now = Date.now();
    for (const [id, p] of pending) if (now - p.startedAt > EXCHANGE_TTL_MS) pending.delete(id);
    let id = r.exchange_id;
    let p = id ? pending.get(id) : undefined;
    if (id && (!p || p.connection !== connection || p.exchange.mechanism !== r.mechanism))
      throw new AuthenticationFailedError('unknown or expired SASL exchange: start again');
    if (!p) {
      const exchange = security.authenticator.start(r.mechanism, { tls: security.tls });
      p = { exchange, connection, startedAt: now };
      id = randomBytes(16).toString('hex');
      if (pending.size >= MAX_EXCHANGES) pending.delete(pending.keys().next().value as string);
      pending.set(id, p);
    }
    let message: Buffer;
    try {
      message = p.exchange.step(r.message);
    } catch (err) {
      pending.delete(id);
      security.limiter.failed(connection);
      security.complain('authentication failed', p.exchange.reason || (err as Error).message, {
        ...(p.exchange.username ? { user: p.exchange.username } : {}),
        mechanism: r.mechanism,
        remote: connection,
      });
      if (err instanceof AuthenticationFailedError || err instanceof InvalidRequestError) throw err;
      throw new AuthenticationFailedError('authentication failed');
    }
    if (!p.exchange.done) return { message, exchange_id: id, done: false };
    pending.delete(id);
    security.limiter.forget(connection);
    const { token, expiresAt } = security.authenticator.issueToken(p.exchange.username);
    return { message, exchange_id: id, done: true, token, expires_at_ms: expiresAt };
  };
  server.addService(securityService('Auth').service, {
    Authenticate: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      unaryHandler((raw) => authenticate(raw, call))(call, cb),
  });
}
