import { describe, expect, it } from 'vitest';
import { ErrorTally } from './groups-scale.js';

class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

describe('ErrorTally', () => {
  it('counts errors by code, most frequent first, and keeps the first message of each', () => {
    const t = new ErrorTally();
    t.add(new CodedError('INTERNAL', 'first internal'));
    t.add(new CodedError('TIMEOUT', 'a timeout'));
    t.add(new CodedError('INTERNAL', 'second internal'));
    t.add(new RangeError('no code'));
    expect(t.count).toBe(4);
    expect(t.toString()).toBe(' (INTERNAL 2, TIMEOUT 1, RangeError 1)');
    expect(t.messages()).toBe(
      '\n  INTERNAL: first internal\n  TIMEOUT: a timeout\n  RangeError: no code',
    );
  });

  it('says nothing when there were no errors', () => {
    const t = new ErrorTally();
    expect(`${t}${t.messages()}`).toBe('');
  });
});
