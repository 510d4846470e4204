import { createHmac, randomBytes } from 'node:crypto';
import { AuthenticationFailedError } from '@strand/wire';
import { z } from 'zod';
import { safeEqual } from './scram.js';

/**
 * Session tokens: what an SCRAM (or PLAIN) exchange yields, sent with every gRPC call after it.
 * `st1.<claims>.<mac>`, base64url, the MAC an HMAC-SHA256 over `st1.<claims>` with the cluster's
 * token key (every node has it, so any node verifies what any other issued). Written here
 * rather than with a JWT library: one algorithm, no header to negotiate, nothing to configure
 * wrongly (JWT's `alg` confusions cannot happen), and it is twenty lines.
 */
const VERSION = 'st1';
const MAX_TOKEN = 2048;
/** Nodes' clocks may differ a little: a token issued this far in the future still counts. */
const CLOCK_SKEW_MS = 30_000;

export const TokenClaimsSchema = z.object({
  /** The user name. */
  sub: z.string().min(1).max(255),
  /** The user's id: a token of a user deleted and created again does not count for the new one. */
  uid: z.string().min(1).max(64),
  /** Issued at / expires at, in ms since the epoch. */
  iat: z.number().int().nonnegative(),
  exp: z.number().int().nonnegative(),
  /** The token's own id (for the log). */
  jti: z.string().max(64),
});
export type TokenClaims = z.infer<typeof TokenClaimsSchema>;

/** A new token key: 32 random bytes. */
export const makeTokenKey = (): Buffer => randomBytes(32);

const mac = (key: Buffer, text: string) =>
  createHmac('sha256', key).update(text).digest('base64url');

export function signToken(
  key: Buffer,
  claims: { sub: string; uid: string; nowMs: number; ttlMs: number },
): string {
  const body: TokenClaims = {
    sub: claims.sub,
    uid: claims.uid,
    iat: claims.nowMs,
    exp: claims.nowMs + claims.ttlMs,
    jti: randomBytes(9).toString('base64url'),
  };
  const signed = `${VERSION}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`;
  return `${signed}.${mac(key, signed)}`;
}

/** The claims of a token this cluster signed that has not expired; anything else throws. */
export function verifyToken(key: Buffer, token: string, nowMs: number): TokenClaims {
  const fail = (why: string) => new AuthenticationFailedError(`invalid token: ${why}`);
  if (token.length > MAX_TOKEN) throw fail('too long');
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) throw fail('not a Strand session token');
  const signed = `${parts[0]}.${parts[1]}`;
  if (!safeEqual(Buffer.from(parts[2]!), Buffer.from(mac(key, signed))))
    throw fail('bad signature (forged, or signed by another cluster)');
  let claims: TokenClaims;
  try {
    claims = TokenClaimsSchema.parse(JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()));
  } catch {
    throw fail('unreadable claims');
  }
  if (claims.exp <= nowMs) throw fail(`expired ${Math.round((nowMs - claims.exp) / 1000)} s ago`);
  if (claims.iat > nowMs + CLOCK_SKEW_MS) throw fail('issued in the future');
  return claims;
}
