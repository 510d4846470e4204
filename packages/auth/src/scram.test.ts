import { createHash, createHmac } from 'node:crypto';
import { AuthenticationFailedError } from '@strand/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  credentialFromSalted,
  makeScramCredential,
  parseClientFirst,
  passwordMatches,
  ScramClient,
  type ScramCredential,
  type ScramHash,
  ScramServer,
  saltedPassword,
} from './scram.js';

/** The examples of RFC 5802 §5 (SCRAM-SHA-1) and RFC 7677 §3 (SCRAM-SHA-256), user "user", password "pencil". */
const VECTORS = [
  {
    mechanism: 'SCRAM-SHA-1',
    hash: 'sha1',
    clientNonce: 'fyko+d2lbbFgONRv9qkxdawL',
    serverNonce: '3rfcNHYJY1ZVvWVs7j',
    salt: 'QSXCR+Q6sek8bf92',
    clientFinal:
      'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  },
  {
    mechanism: 'SCRAM-SHA-256',
    hash: 'sha256',
    clientNonce: 'rOprNGfwEbeRWgbNEkqO',
    serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
    clientFinal:
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  },
] as const;

function rfcCredential(v: (typeof VECTORS)[number]): ScramCredential {
  const salt = Buffer.from(v.salt, 'base64');
  return credentialFromSalted(v.hash, saltedPassword(v.hash, 'pencil', salt, 4096), salt, 4096);
}

describe.each(VECTORS)('$mechanism: the RFC example', (v) => {
  const clientFirst = `n,,n=user,r=${v.clientNonce}`;
  const serverFirst = `r=${v.clientNonce}${v.serverNonce},s=${v.salt},i=4096`;

  it('the server answers as the RFC does and accepts its proof', () => {
    const credential = rfcCredential(v);
    const server = new ScramServer(v.mechanism, (u) => (u === 'user' ? credential : undefined), {
      serverNonce: v.serverNonce,
    });
    expect(server.step(clientFirst).toString()).toBe(serverFirst);
    expect(server.step(v.clientFinal).toString()).toBe(v.serverFinal);
    expect(server.done).toBe(true);
  });

  it('the client sends what the RFC sends and checks the server’s signature', () => {
    const client = new ScramClient(v.mechanism, 'user', 'pencil', { clientNonce: v.clientNonce });
    expect(client.first()).toBe(clientFirst);
    expect(client.final(serverFirst)).toBe(v.clientFinal);
    expect(() => client.verify(v.serverFinal)).not.toThrow();
    expect(() => client.verify('v=AAAA')).toThrow(AuthenticationFailedError);
  });
});

const credentialFor = (hash: ScramHash, password: string) =>
  makeScramCredential(hash === 'sha512' ? 'SCRAM-SHA-512' : 'SCRAM-SHA-256', password);

function exchange(
  mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512',
  users: Map<string, ScramCredential>,
  username: string,
  password: string,
): { server: ScramServer; ok: boolean } {
  const server = new ScramServer(mechanism, (u) => users.get(u));
  const client = new ScramClient(mechanism, username, password);
  try {
    const serverFirst = server.step(client.first());
    client.verify(server.step(client.final(serverFirst)));
    return { server, ok: true };
  } catch (err) {
    expect(err).toBeInstanceOf(AuthenticationFailedError);
    return { server, ok: false };
  }
}

describe('SCRAM exchanges', () => {
  const alice = makeScramCredential('SCRAM-SHA-512', 'secret, with = signs');
  const users = new Map([['alice', alice]]);

  it('stores salt, iterations and keys: never the password', () => {
    expect(alice.iterations).toBe(4096);
    expect(alice.salt.length).toBe(32);
    expect(alice.storedKey.length).toBe(64);
    expect(JSON.stringify(alice)).not.toContain('secret');
    expect(passwordMatches('SCRAM-SHA-512', alice, 'secret, with = signs')).toBe(true);
    expect(passwordMatches('SCRAM-SHA-512', alice, 'secret')).toBe(false);
    expect(() => makeScramCredential('SCRAM-SHA-256', 'x', { iterations: 1000 })).toThrow(/4096/);
  });

  it('a wrong password and an unknown user fail alike; the reason is kept for the log', () => {
    const wrong = exchange('SCRAM-SHA-512', users, 'alice', 'guess');
    const unknown = exchange('SCRAM-SHA-512', users, 'mallory', 'guess');
    expect(wrong.ok).toBe(false);
    expect(unknown.ok).toBe(false);
    expect(wrong.server.reason).toBe('wrong password for "alice"');
    expect(unknown.server.reason).toBe('unknown user "mallory"');
    expect(wrong.server.reason).not.toContain('guess');
  });

  it('an unknown user gets the same salt every time (the answer tells nothing)', () => {
    const salt = () => {
      const s = new ScramServer('SCRAM-SHA-256', () => undefined);
      return /s=([^,]+)/.exec(s.step('n,,n=ghost,r=abc').toString())?.[1];
    };
    expect(salt()).toBe(salt());
  });

  it('a replayed client-final fails: the nonce belongs to another exchange', () => {
    const first = new ScramServer('SCRAM-SHA-512', (u) => users.get(u));
    const client = new ScramClient('SCRAM-SHA-512', 'alice', 'secret, with = signs');
    const clientFirst = client.first();
    const final = client.final(first.step(clientFirst));
    first.step(final);
    const second = new ScramServer('SCRAM-SHA-512', (u) => users.get(u));
    second.step(clientFirst);
    expect(() => second.step(final)).toThrow(/nonce/);
    expect(() => first.step(final)).toThrow(AuthenticationFailedError);
  });

  it("librdkafka's client-final nonce (its own nonce, then the whole one) is accepted; nothing else is", () => {
    const creds = new Map([['alice', makeScramCredential('SCRAM-SHA-256', 'pw')]]);
    const finalWith = (nonceOf: (client: string, whole: string) => string) => {
      const server = new ScramServer('SCRAM-SHA-256', (u) => creds.get(u));
      const bare = 'n=alice,r=cnonce';
      const serverFirst = server.step(`n,,${bare}`).toString();
      const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
      const c = creds.get('alice')!;
      const salted = saltedPassword('sha256', 'pw', c.salt, c.iterations);
      const withoutProof = `c=biws,r=${nonceOf('cnonce', attrs.r!)}`;
      const hmac = (k: Buffer, t: string) => createHmac('sha256', k).update(t).digest();
      const clientKey = hmac(salted, 'Client Key');
      const stored = createHash('sha256').update(clientKey).digest();
      const signature = hmac(stored, `${bare},${serverFirst},${withoutProof}`);
      const proof = Buffer.from(clientKey.map((x, i) => x ^ signature[i]!)).toString('base64');
      return () => server.step(`${withoutProof},p=${proof}`);
    };
    expect(finalWith((_, whole) => whole)().toString()).toMatch(/^v=/);
    expect(finalWith((client, whole) => client + whole)().toString()).toMatch(/^v=/);
    expect(finalWith((_, whole) => `x${whole}`)).toThrow(/nonce/);
  });

  it('the mechanisms do not mix: a SHA-256 proof fails against SHA-512', () => {
    const server = new ScramServer('SCRAM-SHA-512', (u) => users.get(u));
    const client = new ScramClient('SCRAM-SHA-256', 'alice', 'secret, with = signs');
    expect(() => server.step(client.final(server.step(client.first())))).toThrow(
      AuthenticationFailedError,
    );
  });

  it('user names with "," and "=" travel escaped', () => {
    expect(parseClientFirst('n,,n=a=2Cb=3Dc,r=xyz').username).toBe('a,b=c');
    expect(() => parseClientFirst('n,,n=a=2Xb,r=xyz')).toThrow(AuthenticationFailedError);
    expect(() => parseClientFirst('p=tls-unique,,n=a,r=x')).toThrow(/channel binding/);
    expect(() => parseClientFirst('n,,m=ext,n=a,r=x')).toThrow(/mandatory/);
  });

  it('any user and password round-trip, and any other password fails', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.string({ maxLength: 30 }),
        fc.string({ maxLength: 30 }),
        fc.constantFrom('SCRAM-SHA-256' as const, 'SCRAM-SHA-512' as const),
        (user, password, other, mechanism) => {
          const hash = mechanism === 'SCRAM-SHA-512' ? 'sha512' : 'sha256';
          const map = new Map([[user, credentialFor(hash, password)]]);
          expect(exchange(mechanism, map, user, password).ok).toBe(true);
          if (other !== password) expect(exchange(mechanism, map, user, other).ok).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('random and mangled messages fail with an authentication error, nothing else', () => {
    const valid = new ScramClient('SCRAM-SHA-256', 'alice', 'pw');
    const clientFirst = valid.first();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
          fc.nat({ max: clientFirst.length }).map((n) => Buffer.from(clientFirst.slice(0, n))),
        ),
        fc.uint8Array({ maxLength: 200 }),
        (first, final) => {
          const server = new ScramServer('SCRAM-SHA-256', () => undefined);
          try {
            server.step(first);
            server.step(Buffer.from(final));
          } catch (err) {
            expect(err).toBeInstanceOf(AuthenticationFailedError);
            return;
          }
          throw new Error('a random exchange succeeded');
        },
      ),
      { numRuns: 300 },
    );
  });
});
