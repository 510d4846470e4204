import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AuthConfigShape, authConfigProblem } from './config.js';

const parse = (c: Record<string, unknown>) => z.object(AuthConfigShape).parse(c);

describe('authentication settings', () => {
  it('default to none, which needs nothing', () => {
    const c = parse({});
    expect(c).toEqual({
      authentication: 'none',
      superUsers: [],
      tokenTtlMs: 600_000,
      allowEveryoneIfNoAclFound: false,
    });
    expect(parse({ allowEveryoneIfNoAclFound: 'true' }).allowEveryoneIfNoAclFound).toBe(true);
    expect(parse({ allowEveryoneIfNoAclFound: true }).allowEveryoneIfNoAclFound).toBe(true);
    expect(() => parse({ allowEveryoneIfNoAclFound: 'yes' })).toThrow();
    expect(authConfigProblem(c)).toBeUndefined();
  });

  it('required needs TLS and super users, and says so', () => {
    const c = parse({ authentication: 'required', superUsers: ['User:node-1'] });
    expect(authConfigProblem(c)).toMatch(/needs TLS/);
    expect(
      authConfigProblem({ ...parse({ authentication: 'required' }), tlsCert: 'a.pem' }),
    ).toMatch(/needs --super-users/);
    expect(authConfigProblem({ ...c, tlsCert: 'a.pem' })).toBeUndefined();
  });

  it('super users are principals', () => {
    expect(() => parse({ superUsers: ['admin'] })).toThrow(/User:<name>/);
    expect(() => parse({ tokenTtlMs: 5 })).toThrow();
  });
});
