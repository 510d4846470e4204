import type { SaslOptions } from '@strand/client';
import { AuthenticationFailedError } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import type { Cluster } from './clients.js';
import { cookieOf, SESSION_COOKIE, Sessions, sameSecret, sessionCookie } from './sessions.js';

/** Clients whose login succeeds for one password; they count their closes. */
function fakeClusters() {
  const closed: string[] = [];
  const connect = (sasl: SaslOptions): Cluster =>
    ({
      admin: {
        listTopics: async () => {
          if (sasl.password !== 'right') throw new AuthenticationFailedError('wrong password');
          return [];
        },
      },
      close: async () => {
        closed.push(sasl.username);
      },
    }) as unknown as Cluster;
  return { connect, closed };
}

describe('console sessions', () => {
  it('log in only with the right password, and end when unused for too long', async () => {
    const { connect, closed } = fakeClusters();
    let now = 1_000_000;
    const sessions = new Sessions(connect, 60_000, () => now);
    await expect(sessions.login({ username: 'eve', password: 'wrong' })).rejects.toBeInstanceOf(
      AuthenticationFailedError,
    );
    expect(closed).toEqual(['eve']);
    expect(sessions.size).toBe(0);

    const s = await sessions.login({ username: 'ann', password: 'right' });
    expect(s.id).toMatch(/^[\w-]{43}$/);
    expect(s.csrf).not.toBe(s.id);
    now += 59_000;
    expect(sessions.get(s.id)).toBe(s); // used: its idle time starts again
    now += 59_000;
    expect(sessions.get(s.id)).toBe(s);
    now += 60_001;
    expect(sessions.get(s.id)).toBeUndefined();
    expect(s.ended.aborted).toBe(true);
    expect(closed).toEqual(['eve', 'ann']);
    expect(sessions.get('made-up')).toBeUndefined();
    expect(sessions.get(undefined)).toBeUndefined();
    sessions.close();
  });

  it('end on logout, closing the clients', async () => {
    const { connect, closed } = fakeClusters();
    const sessions = new Sessions(connect, 60_000);
    const a = await sessions.login({ username: 'a', password: 'right' });
    const b = await sessions.login({ username: 'b', password: 'right' });
    sessions.end(a.id);
    expect(sessions.get(a.id)).toBeUndefined();
    expect(sessions.get(b.id)).toBe(b);
    expect(closed).toEqual(['a']);
    sessions.close();
    expect(closed).toEqual(['a', 'b']);
  });

  it('set a cookie scripts and other sites cannot use, and read it back', () => {
    expect(sessionCookie('abc', true)).toBe(
      `${SESSION_COOKIE}=abc; Path=/; HttpOnly; SameSite=Strict; Secure`,
    );
    expect(sessionCookie('abc', false)).not.toContain('Secure');
    expect(sessionCookie(null, false)).toBe(
      `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`,
    );
    expect(cookieOf(`x=1; ${SESSION_COOKIE}=abc; y=2`, SESSION_COOKIE)).toBe('abc');
    expect(cookieOf('x=1', SESSION_COOKIE)).toBeUndefined();
    expect(cookieOf(undefined, SESSION_COOKIE)).toBeUndefined();
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abd')).toBe(false);
    expect(sameSecret('abc', 'ab')).toBe(false);
  });
});
