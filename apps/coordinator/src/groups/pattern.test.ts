import { ErrorCode, StrandError } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { compilePattern, MAX_PATTERN_LENGTH, topicsMatching } from './pattern.js';

const catalog = new Map([
  ['orders', 3],
  ['orders-eu', 1],
  ['Payments', 2],
  ['a'.repeat(100), 1],
]);

describe('subscription patterns', () => {
  it('match like RegExp.test: anywhere in the name, with the i, m, s and u flags', () => {
    expect(topicsMatching('^orders', '', catalog)).toEqual(['orders', 'orders-eu']);
    expect(topicsMatching('ders-', '', catalog)).toEqual(['orders-eu']);
    expect(topicsMatching('^payments$', 'i', catalog)).toEqual(['Payments']);
    expect(topicsMatching('^(?<name>orders)$', 'u', catalog)).toEqual(['orders']);
    expect(topicsMatching('^orders-\\w{2}$', '', catalog)).toEqual(['orders-eu']);
  });

  it('take time linear in the name: a pattern that backtracks exponentially finishes at once', () => {
    // RegExp needs about 2^100 steps here: this would never end (the test times out).
    expect(topicsMatching('^(a+)+b$', '', catalog)).toEqual([]);
    expect(topicsMatching('^(a|a)*$', '', catalog)).toEqual(['a'.repeat(100)]);
  });

  it('refuse what needs backtracking, bad syntax, unknown flags and long patterns, with a typed error', () => {
    for (const [pattern, flags] of [
      ['(?=orders)o', ''],
      ['(?<!x)orders', ''],
      ['(a)\\1', ''],
      ['(', ''],
      ['orders', 'g'],
      ['x'.repeat(MAX_PATTERN_LENGTH + 1), ''],
    ] as const) {
      let err: unknown;
      try {
        compilePattern(pattern, flags);
      } catch (e) {
        err = e;
      }
      expect(err, pattern.slice(0, 20)).toBeInstanceOf(StrandError);
      expect((err as StrandError).code).toBe(ErrorCode.InvalidRequest);
    }
    // Stored before patterns were checked: matches nothing, throws nothing.
    expect(topicsMatching('(?=orders)o', '', catalog)).toEqual([]);
  });

  it('match once per catalog: the same catalog gives the same answer object', () => {
    const first = topicsMatching('^orders', '', catalog);
    expect(topicsMatching('^orders', '', catalog)).toBe(first);
    expect(topicsMatching('^orders', '', new Map(catalog))).not.toBe(first);
  });
});
