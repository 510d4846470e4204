import { describe, expect, it } from 'vitest';
import { nextStep, WATERMARK_NEWS_HOLD_MS } from './fetch-wait.js';

describe('nextStep', () => {
  const base = { now: 1000, deadline: 1500, ready: false, newsSince: undefined };

  it('answers at once with enough records or an error, and when max_wait_ms ran out', () => {
    expect(nextStep({ ...base, ready: true })).toEqual({ answer: true });
    expect(nextStep({ ...base, now: 1500 })).toEqual({ answer: true });
  });

  it('waits out max_wait_ms while there is nothing to tell', () => {
    expect(nextStep(base)).toEqual({ answer: false, waitMs: 500 });
  });

  it('holds watermark news for a few ms, for records to carry it, then answers', () => {
    expect(nextStep({ ...base, newsSince: 1000 })).toEqual({
      answer: false,
      waitMs: WATERMARK_NEWS_HOLD_MS,
    });
    expect(nextStep({ ...base, now: 1003, newsSince: 1000 })).toEqual({
      answer: false,
      waitMs: WATERMARK_NEWS_HOLD_MS - 3,
    });
    expect(nextStep({ ...base, now: 1000 + WATERMARK_NEWS_HOLD_MS, newsSince: 1000 })).toEqual({
      answer: true,
    });
  });

  it('never holds news past max_wait_ms', () => {
    expect(nextStep({ ...base, now: 1498, newsSince: 1498 })).toEqual({ answer: false, waitMs: 2 });
  });
});
