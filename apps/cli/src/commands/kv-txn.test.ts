import { describe, expect, it } from 'vitest';
import { parseTxn, words } from './kv-txn.js';

describe("kv txn's input (etcdctl's format)", () => {
  it('reads compares, success ops and failure ops between blank lines', () => {
    const t = parseTxn(
      [
        'mod("config/version") = 7',
        'value("lock") != "taken by me"',
        'ver(k) > 0',
        '',
        'put config/version 8',
        'del cache/ --prefix',
        '',
        'get "key with space"',
        '',
      ].join('\n'),
    );
    expect(t).toEqual({
      compares: [
        { key: 'config/version', target: 'modRevision', op: '=', value: 7 },
        { key: 'lock', target: 'value', op: '!=', value: 'taken by me' },
        { key: 'k', target: 'version', op: '>', value: 0 },
      ],
      success: [
        { put: { key: 'config/version', value: '8' } },
        { delete: { key: 'cache/', prefix: true } },
      ],
      failure: [{ get: { key: 'key with space', prefix: false } }],
    });
  });

  it('takes no compares (a leading blank line) and no failure part', () => {
    expect(parseTxn('\nput a 1\n')).toEqual({
      compares: [],
      success: [{ put: { key: 'a', value: '1' } }],
      failure: [],
    });
    expect(parseTxn('c("a") = 0\n\n\nput a 1')).toMatchObject({
      success: [],
      failure: [{ put: { key: 'a' } }],
    });
  });

  it('refuses what it cannot read, naming the line', () => {
    expect(() => parseTxn('lease("a") = 1')).toThrow(/line 1: expected a compare/);
    expect(() => parseTxn('mod("a") = soon')).toThrow(
      /line 1: mod\(\) compares with a whole number/,
    );
    expect(() => parseTxn('\nput a')).toThrow(/line 2: expected put KEY VALUE/);
    expect(() => parseTxn('\nfrob a')).toThrow(/unknown operation "frob"/);
    expect(() => parseTxn('\n\n\nput a 1')).toThrow(/three parts/);
    expect(() => words('put "open', 'line 1')).toThrow(/unclosed quote/);
  });

  it('splits words with JSON escapes in quotes', () => {
    expect(words('put "a \\"b\\"" "\\u00e9\\n"', 'x')).toEqual(['put', 'a "b"', 'é\n']);
  });
});
