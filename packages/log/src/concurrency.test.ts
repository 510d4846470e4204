import { describe, expect, it } from 'vitest';
import { forEachLimit } from './concurrency.js';

describe('forEachLimit', () => {
  it('keeps at most `limit` calls in flight and visits every item, even after a failure', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    const run = forEachLimit(
      Array.from({ length: 40 }, (_, i) => i),
      4,
      async (i) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, i % 3));
        running -= 1;
        seen.push(i);
        if (i === 5) throw new Error(`item ${i}`);
      },
    );
    await expect(run).rejects.toThrow('item 5');
    expect(peak).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });
});
