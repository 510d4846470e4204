import {
  ANONYMOUS,
  Authenticator,
  encodePlain,
  encodeUser,
  FailureLimiter,
  makeScramCredential,
  ScramClient,
  SecurityKeys,
  SecurityState,
  userWith,
} from '@strand/auth';
import {
  type ApiDef,
  ApiVersions,
  concat,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  type Input,
  KafkaError,
  KafkaProtocolError,
  Metadata,
  type RequestOf,
  type ResponseOf,
  SaslAuthenticate,
  SaslHandshake,
} from '@strand/kafka-protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FrameAnswer } from './connection.js';
import type { KafkaSecurityProtocol } from './security-protocol.js';
import { type KafkaListenerSecurity, KafkaSession, MAX_UNAUTHENTICATED_FRAME } from './session.js';

// The SASL state machine of one connection, fed frames as the connection would (no sockets):
// what clients may send before and after authenticating, v0 raw tokens and v1 SaslAuthenticate,
// failures, re-authentication, expiry and deleted users.

const PASSWORD = 'pw-of-alice';

function setup(protocol: KafkaSecurityProtocol = 'SASL_SSL', maxReauthMs = 0) {
  const state = new SecurityState();
  const addUser = (name: string) => {
    let u = userWith(
      undefined,
      name,
      'SCRAM-SHA-256',
      makeScramCredential('SCRAM-SHA-256', PASSWORD),
    );
    u = userWith(u, name, 'SCRAM-SHA-512', makeScramCredential('SCRAM-SHA-512', PASSWORD));
    state.apply(SecurityKeys.user(name), encodeUser(u));
  };
  addUser('alice');
  addUser('bob');
  let now = 1_000_000;
  const gone = new Map<string, () => void>();
  const logs: Record<string, unknown>[] = [];
  const security: KafkaListenerSecurity = {
    protocol,
    authenticator: new Authenticator(state),
    limiter: new FailureLimiter({ maxFailures: 3, windowMs: 60_000 }, () => now),
    required: false,
    maxReauthMs,
    now: () => now,
    onUserGone: (user, end) => {
      gone.set(user, end);
      return () => gone.delete(user);
    },
    complain: (msg, err, fields) => logs.push({ msg, ...fields, reason: String(err) }),
    debug: (fields, msg) => logs.push({ msg, ...fields }),
  };
  const ended: string[] = [];
  let n = 0;
  const session = (remoteAddress = '::ffff:10.0.0.7', certificateName?: string) =>
    new KafkaSession(
      security,
      { id: `kafka-${++n}`, remoteAddress, ...(certificateName ? { certificateName } : {}) },
      (why) => ended.push(why),
      100 * 1024 * 1024,
    );
  return {
    security,
    session,
    logs,
    ended,
    gone,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** A request's frame (what follows its size), as the connection hands it to the session. */
function frame<A extends ApiDef>(api: A, version: number, body: Input<RequestOf<A>>): Buffer {
  return encodeRequest(api, version, { correlationId: 7, clientId: 't' }, body).subarray(4);
}

/** What the session answers a request (undefined: the API handlers would). */
function send<A extends ApiDef>(
  s: KafkaSession,
  api: A,
  version: number,
  body: Input<RequestOf<A>>,
): FrameAnswer | undefined {
  const f = frame(api, version, body);
  const { header, bodyOffset } = decodeRequestHeader(f);
  return s.intercept(header, f, bodyOffset!);
}

function answer<A extends ApiDef>(api: A, version: number, a: FrameAnswer | undefined) {
  if (!a || !Array.isArray(a.chunks)) throw new Error(`expected an answer, got ${a?.chunks}`);
  return {
    body: decodeResponse(api, version, concat(a.chunks).subarray(4)).body as ResponseOf<A>,
    thenClose: a.thenClose === true,
  };
}

/** A whole SCRAM exchange over SaslAuthenticate `version`; the last answer. */
function scram(
  s: KafkaSession,
  version: number,
  user = 'alice',
  password = PASSWORD,
  mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512' = 'SCRAM-SHA-512',
) {
  const hs = answer(SaslHandshake, 1, send(s, SaslHandshake, 1, { mechanism }));
  expect(hs.body.errorCode).toBe(0);
  const client = new ScramClient(mechanism, user, password);
  const first = answer(
    SaslAuthenticate,
    version,
    send(s, SaslAuthenticate, version, { authBytes: Buffer.from(client.first()) }),
  );
  if (first.body.errorCode !== 0) return first;
  const last = answer(
    SaslAuthenticate,
    version,
    send(s, SaslAuthenticate, version, {
      authBytes: Buffer.from(client.final(first.body.authBytes)),
    }),
  );
  if (last.body.errorCode === 0) client.verify(last.body.authBytes);
  return last;
}

describe('KafkaSession', () => {
  it('SCRAM-SHA-512 and -256 through SaslAuthenticate v0, v1 and v2 make the user the principal', () => {
    const t = setup();
    for (const [version, mechanism] of [
      [0, 'SCRAM-SHA-512'],
      [1, 'SCRAM-SHA-256'],
      [2, 'SCRAM-SHA-512'],
    ] as const) {
      const s = t.session();
      expect(s.principal).toBe(ANONYMOUS);
      expect(s.host).toBe('10.0.0.7');
      expect(s.maxFrameBytes()).toBe(MAX_UNAUTHENTICATED_FRAME);
      const last = scram(s, version, 'alice', PASSWORD, mechanism);
      expect(last.body).toMatchObject({ errorCode: 0, errorMessage: null });
      expect(last.thenClose).toBe(false);
      expect(s.principal).toBe('User:alice');
      expect(s.maxFrameBytes()).toBe(100 * 1024 * 1024);
      // Now the handlers answer everything, SASL requests included (ILLEGAL_SASL_STATE).
      expect(send(s, Metadata, 4, { topics: null, allowAutoTopicCreation: false })).toBeUndefined();
      expect(send(s, SaslAuthenticate, version, { authBytes: Buffer.from('x') })).toBeUndefined();
    }
    expect(
      t.logs.filter((l) => l.msg === 'kafka: authenticated' && l.principal === 'User:alice'),
    ).toHaveLength(3);
  });

  it('PLAIN over TLS only; an unsupported mechanism is UNSUPPORTED_SASL_MECHANISM with the list, then the end', () => {
    const t = setup('SASL_SSL');
    const s = t.session();
    expect(
      answer(SaslHandshake, 1, send(s, SaslHandshake, 1, { mechanism: 'PLAIN' })).body.errorCode,
    ).toBe(0);
    const ok = answer(
      SaslAuthenticate,
      1,
      send(s, SaslAuthenticate, 1, { authBytes: encodePlain('bob', PASSWORD) }),
    );
    expect(ok.body.errorCode).toBe(0);
    expect(s.principal).toBe('User:bob');

    const plaintext = setup('SASL_PLAINTEXT').session();
    const refused = answer(
      SaslHandshake,
      1,
      send(plaintext, SaslHandshake, 1, { mechanism: 'PLAIN' }),
    );
    expect(refused.body).toEqual({
      errorCode: KafkaError.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'],
    });
    expect(refused.thenClose).toBe(true);
    const gssapi = answer(
      SaslHandshake,
      0,
      send(t.session(), SaslHandshake, 0, { mechanism: 'GSSAPI' }),
    );
    expect(gssapi.body.mechanisms).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN']);
  });

  it('a wrong password or an unknown user is SASL_AUTHENTICATION_FAILED with a message, then the end; logged without the password', () => {
    const t = setup();
    for (const [user, password] of [
      ['alice', 'wrong'],
      ['mallory', PASSWORD],
    ] as const) {
      const s = t.session();
      const last = scram(s, 1, user, password);
      expect(last.body.errorCode).toBe(KafkaError.SASL_AUTHENTICATION_FAILED);
      expect(last.body.errorMessage).toMatch(/unknown user or wrong password/);
      expect(last.thenClose).toBe(true);
      expect(s.principal).toBe(ANONYMOUS);
    }
    expect(t.logs).toContainEqual({
      msg: 'kafka: authentication failed',
      user: 'alice',
      mechanism: 'SCRAM-SHA-512',
      remote: '10.0.0.7',
      reason: expect.stringMatching(/wrong password for "alice"/),
    });
    expect(t.logs).toContainEqual(
      expect.objectContaining({ user: 'mallory', reason: expect.stringMatching(/unknown user/) }),
    );
    expect(JSON.stringify(t.logs)).not.toContain(PASSWORD);
  });

  it('past the failures allowed from one address, its attempts are refused unchecked; other addresses go on', () => {
    const t = setup();
    for (let i = 0; i < 3; i++)
      expect(scram(t.session('10.0.0.9'), 1, 'alice', 'guess').body.errorCode).toBe(58);
    const limited = scram(t.session('10.0.0.9'), 1);
    expect(limited.body.errorMessage).toMatch(/too many failed authentications from 10\.0\.0\.9/);
    expect(limited.thenClose).toBe(true);
    expect(scram(t.session('10.0.0.10'), 1).body.errorCode).toBe(0);
    t.advance(60_000);
    expect(scram(t.session('10.0.0.9'), 1).body.errorCode).toBe(0);
  });

  it('before authenticating only ApiVersions, SaslHandshake and SaslAuthenticate; anything else closes', () => {
    const t = setup();
    const s = t.session();
    expect(
      send(s, ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }),
    ).toBeUndefined();
    expect(send(s, Metadata, 4, { topics: null, allowAutoTopicCreation: false })).toEqual({
      chunks: 'close',
    });
    expect(t.logs.at(-1)).toMatchObject({
      msg: 'kafka: closing a connection',
      reason: expect.stringMatching(/API 3 before authenticating/),
    });
    // SaslAuthenticate with no handshake before it.
    expect(send(t.session(), SaslAuthenticate, 1, { authBytes: Buffer.alloc(1) })).toEqual({
      chunks: 'close',
    });
    // On a listener without SASL everything goes to the handlers, as ANONYMOUS or the certificate's CN.
    const ssl = setup('SSL');
    expect(ssl.session().principal).toBe(ANONYMOUS);
    const withCert = ssl.session('127.0.0.1', 'carol');
    expect(withCert.principal).toBe('User:carol');
    expect(
      send(withCert, Metadata, 4, { topics: null, allowAutoTopicCreation: false }),
    ).toBeUndefined();
    expect(send(withCert, SaslHandshake, 1, { mechanism: 'PLAIN' })).toBeUndefined();
    expect(setup('PLAINTEXT').session().maxFrameBytes()).toBe(100 * 1024 * 1024);
  });

  it('SaslHandshake v0: raw SASL tokens framed by their length, then requests', () => {
    const t = setup();
    const s = t.session();
    expect(
      answer(SaslHandshake, 0, send(s, SaslHandshake, 0, { mechanism: 'SCRAM-SHA-256' })).body
        .errorCode,
    ).toBe(0);
    expect(s.expectsRawToken).toBe(true);
    const client = new ScramClient('SCRAM-SHA-256', 'alice', PASSWORD);
    const raw = (token: string) => {
      const a = s.rawToken(Buffer.from(token));
      const bytes = concat(a.chunks as Buffer[]);
      expect(bytes.readInt32BE(0)).toBe(bytes.length - 4);
      return bytes.subarray(4);
    };
    client.verify(raw(client.final(raw(client.first()))));
    expect(s.expectsRawToken).toBe(false);
    expect(s.principal).toBe('User:alice');
    // A bad raw token just ends the connection: the v0 protocol has no way to say why.
    const bad = t.session();
    send(bad, SaslHandshake, 0, { mechanism: 'SCRAM-SHA-512' });
    expect(bad.rawToken(Buffer.from('nonsense'))).toEqual({ chunks: 'close' });
  });

  it('a session lasts maxReauthMs: SaslAuthenticate reports it, re-authenticating as the same user renews it, else the next request closes', () => {
    const t = setup('SASL_SSL', 30_000);
    const s = t.session();
    expect(scram(s, 1).body.sessionLifetimeMs).toBe(30_000);
    t.advance(20_000);
    const again = scram(s, 1);
    expect(again.body).toMatchObject({ errorCode: 0, sessionLifetimeMs: 30_000 });
    t.advance(20_000);
    expect(send(s, Metadata, 4, { topics: null, allowAutoTopicCreation: false })).toBeUndefined();
    // As someone else: refused, and the connection ends.
    const other = scram(s, 1, 'bob');
    expect(other.body.errorMessage).toMatch(/same user/);
    expect(other.thenClose).toBe(true);
    t.advance(15_000);
    expect(send(s, Metadata, 4, { topics: null, allowAutoTopicCreation: false })).toEqual({
      chunks: 'close',
    });
    expect(t.logs.at(-1)).toMatchObject({
      principal: 'User:alice',
      reason: expect.stringMatching(/session of User:alice expired/),
    });
  });

  it("a deleted user's connection ends; a closed session forgets its user", () => {
    const t = setup();
    const s = t.session();
    scram(s, 2);
    t.gone.get('alice')!();
    expect(t.ended).toEqual(['user "alice" was deleted']);
    s.close();
    expect(t.gone.has('alice')).toBe(false);
  });

  it('an SSL client with no certificate is refused where authentication is required', () => {
    const security = { ...setup('SSL').security, required: true };
    const anonymous = new KafkaSession(
      security,
      { id: 'k', remoteAddress: '127.0.0.1' },
      () => {},
      1024,
    );
    expect(anonymous.refusal).toMatch(/requires authentication/);
    const named = new KafkaSession(
      security,
      { id: 'k', remoteAddress: '127.0.0.1', certificateName: 'x' },
      () => {},
      1024,
    );
    expect(named.refusal).toBeUndefined();
  });

  it('fuzz: random tokens and SASL request bodies get an answer or a typed refusal, never a crash', () => {
    const t = setup();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.constantFrom(0, 1, 2),
        fc.boolean(),
        (bytes, version, raw) => {
          const s = t.session(`10.1.${version}.${raw ? 1 : 2}`);
          send(s, SaslHandshake, raw ? 0 : 1, { mechanism: 'SCRAM-SHA-512' });
          const token = Buffer.from(bytes);
          if (raw) {
            const a = s.rawToken(token);
            if (a.chunks !== 'close')
              expect(concat(a.chunks as Buffer[]).readInt32BE(0)).toBeGreaterThan(0);
            return;
          }
          const a = answer(
            SaslAuthenticate,
            version,
            send(s, SaslAuthenticate, version, { authBytes: token }),
          );
          expect([0, KafkaError.SASL_AUTHENTICATION_FAILED]).toContain(a.body.errorCode);
          // Garbage where the request body should be.
          const head = frame(SaslAuthenticate, version, { authBytes: Buffer.alloc(0) });
          const { header, bodyOffset } = decodeRequestHeader(head);
          const forged = Buffer.concat([head.subarray(0, bodyOffset), token]);
          try {
            s.intercept(header, forged, bodyOffset!);
          } catch (err) {
            expect(err).toBeInstanceOf(KafkaProtocolError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
