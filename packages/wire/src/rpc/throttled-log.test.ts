import { afterEach, describe, expect, it, vi } from 'vitest';
import { throttledLog } from './throttled-log.js';

describe('throttledLog', () => {
  afterEach(() => vi.useRealTimers());

  it('logs each kind once per period, as fields, with how many there were', () => {
    vi.useFakeTimers({ now: 0 });
    const records: { fields: Record<string, unknown>; msg: string }[] = [];
    const complain = throttledLog((fields, msg) => records.push({ fields, msg }), 1000);
    for (let i = 0; i < 5; i++) complain('a', { remote: '10.0.0.1' }, 'refused');
    complain('b', { remote: '10.0.0.2' }, 'refused');
    vi.setSystemTime(1000);
    complain('a', { remote: '10.0.0.1' }, 'refused');
    expect(records).toEqual([
      { fields: { remote: '10.0.0.1' }, msg: 'refused' },
      { fields: { remote: '10.0.0.2' }, msg: 'refused' },
      { fields: { remote: '10.0.0.1', repeats: 6 }, msg: 'refused' },
    ]);
  });
});
