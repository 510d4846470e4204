import { describe, expect, it } from 'vitest';
import { dueCount, pacedLatency, percentile } from './rate.js';

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile(xs, 0)).toBe(1);
  });

  it('handles tiny and empty inputs', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2], 50)).toBe(1);
    expect(percentile([1, 2], 51)).toBe(2);
  });
});

describe('dueCount', () => {
  it('grows with time at the rate, capped at the total', () => {
    expect(dueCount(1000, 0, 10_000)).toBe(0);
    expect(dueCount(1000, 1, 10_000)).toBe(1);
    expect(dueCount(1000, 2.5, 10_000)).toBe(2);
    expect(dueCount(500_000, 1000, 10_000_000)).toBe(500_000);
    expect(dueCount(1000, 60_000, 5000)).toBe(5000);
  });
});

describe('pacedLatency', () => {
  it('sends the planned number of records and records each latency', async () => {
    let calls = 0;
    const r = await pacedLatency(
      async () => {
        calls += 1;
      },
      { ratePerSec: 2000, seconds: 0.1, tickMs: 1 },
    );
    expect(calls).toBe(200);
    expect(r.sent).toBe(200);
    expect(r.latencies.length).toBe(200);
    expect(r.errors).toBe(0);
  });

  it('counts failures instead of latencies', async () => {
    let i = 0;
    const r = await pacedLatency(
      () => (i++ % 2 === 0 ? Promise.resolve() : Promise.reject(new Error('no'))),
      { ratePerSec: 1000, seconds: 0.02, tickMs: 1 },
    );
    expect(r.sent).toBe(20);
    expect(r.errors).toBe(10);
    expect(r.latencies.length).toBe(10);
    expect((r.firstError as Error).message).toBe('no');
  });
});
