import { AuthenticationFailedError } from '@strand/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeTokenKey, signToken, verifyToken } from './token.js';

describe('session tokens', () => {
  const key = makeTokenKey();
  const now = 1_700_000_000_000;
  const token = signToken(key, { sub: 'alice', uid: 'u1', nowMs: now, ttlMs: 60_000 });

  it('verify what was signed, until it expires', () => {
    expect(verifyToken(key, token, now + 59_999)).toMatchObject({ sub: 'alice', uid: 'u1' });
    expect(() => verifyToken(key, token, now + 60_000)).toThrow(/expired/);
  });

  it('another cluster’s key, or a changed claim, is a forgery', () => {
    expect(() => verifyToken(makeTokenKey(), token, now)).toThrow(/bad signature/);
    const [v, claims, mac] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(claims!, 'base64url').toString()), sub: 'admin' }),
    ).toString('base64url');
    expect(() => verifyToken(key, `${v}.${forged}.${mac}`, now)).toThrow(/bad signature/);
  });

  it('anything else is refused with an authentication error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (junk) => {
        expect(() => verifyToken(key, junk, now)).toThrow(AuthenticationFailedError);
      }),
    );
    expect(() => verifyToken(key, 'x'.repeat(5000), now)).toThrow(/too long/);
  });
});
