import { AuthenticationFailedError } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { Authenticator } from './authenticator.js';
import { FailureLimiter } from './failure-limiter.js';
import { encodePlain } from './plain.js';
import { encodeTokenKey, encodeUser, SecurityKeys, userWith } from './records.js';
import { makeScramCredential, ScramClient } from './scram.js';
import { SecurityState } from './security-state.js';
import { makeTokenKey } from './token.js';

function stateWith(users: Record<string, string>): SecurityState {
  const state = new SecurityState();
  state.apply(SecurityKeys.tokenKey, encodeTokenKey(makeTokenKey()));
  for (const [name, password] of Object.entries(users)) {
    let u = userWith(
      undefined,
      name,
      'SCRAM-SHA-256',
      makeScramCredential('SCRAM-SHA-256', password),
    );
    u = userWith(u, name, 'SCRAM-SHA-512', makeScramCredential('SCRAM-SHA-512', password));
    state.apply(SecurityKeys.user(name), encodeUser(u));
  }
  return state;
}

describe('Authenticator', () => {
  it('SCRAM through the KV records, then a token for the user', () => {
    const state = stateWith({ alice: 'pw' });
    const auth = new Authenticator(state);
    const x = auth.start('SCRAM-SHA-512', { tls: false });
    const client = new ScramClient('SCRAM-SHA-512', 'alice', 'pw');
    client.verify(x.step(Buffer.from(client.final(x.step(Buffer.from(client.first()))))));
    expect(x.done).toBe(true);
    const { token } = auth.issueToken(x.username);
    expect(auth.verify(token).principal).toBe('User:alice');
  });

  it('PLAIN only over TLS, checked against the SCRAM credential', () => {
    const auth = new Authenticator(stateWith({ alice: 'pw' }));
    expect(() => auth.start('PLAIN', { tls: false })).toThrow(/TLS only/);
    expect(auth.start('PLAIN', { tls: true }).step(encodePlain('alice', 'pw'))).toEqual(
      Buffer.alloc(0),
    );
    const wrong = auth.start('PLAIN', { tls: true });
    expect(() => wrong.step(encodePlain('alice', 'nope'))).toThrow(AuthenticationFailedError);
    expect(wrong.reason).toBe('wrong password for "alice"');
    expect(() => auth.start('PLAIN', { tls: true }).step(Buffer.from('garbage'))).toThrow(
      AuthenticationFailedError,
    );
    expect(() => auth.start('GSSAPI', { tls: true })).toThrow(/unsupported SASL mechanism/);
  });

  it('a deleted user’s tokens stop counting, and so do they for a new user of that name', () => {
    const state = stateWith({ alice: 'pw' });
    const auth = new Authenticator(state);
    const { token } = auth.issueToken('alice');
    state.apply(SecurityKeys.user('alice'), undefined);
    expect(() => auth.verify(token)).toThrow(/deleted/);
    const again = stateWith({ alice: 'pw' }).users.get('alice')!;
    state.apply(SecurityKeys.user('alice'), encodeUser(again));
    expect(() => auth.verify(token)).toThrow(/deleted/);
  });

  it('tokens expire', () => {
    let now = 1000;
    const auth = new Authenticator(stateWith({ alice: 'pw' }), {
      tokenTtlMs: 5000,
      now: () => now,
    });
    const { token, expiresAt } = auth.issueToken('alice');
    expect(expiresAt).toBe(6000);
    now = 6000;
    expect(() => auth.verify(token)).toThrow(/expired/);
  });

  it('a malformed record is reported and left out', () => {
    const bad: string[] = [];
    const state = new SecurityState((key) => bad.push(key));
    state.apply(SecurityKeys.user('x'), Buffer.from('{"name":"x"}'));
    state.apply(SecurityKeys.acl('1'), Buffer.from('not json'));
    expect(bad).toEqual([SecurityKeys.user('x'), SecurityKeys.acl('1')]);
    expect(state.users.size + state.acls.size).toBe(0);
  });
});

describe('FailureLimiter', () => {
  it('blocks a connection after its failures, until the window passes', () => {
    let now = 0;
    const limiter = new FailureLimiter({ maxFailures: 3, windowMs: 1000 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(limiter.allowed('c1')).toBe(true);
      limiter.failed('c1');
    }
    expect(limiter.allowed('c1')).toBe(false);
    expect(limiter.allowed('c2')).toBe(true);
    now = 1000;
    expect(limiter.allowed('c1')).toBe(true);
  });
});
