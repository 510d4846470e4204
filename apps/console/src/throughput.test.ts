import { describe, expect, it } from 'vitest';
import { sumSamples } from './throughput.js';

describe('reading the brokers’ metrics', () => {
  it('sums one metric’s samples, by label if asked, ignoring metrics that share its prefix', () => {
    const text = [
      '# HELP strand_broker_bytes_out_total Bytes fetched',
      'strand_broker_bytes_out_total{topic="a",fetcher="consumer"} 100',
      'strand_broker_bytes_out_total{topic="b",fetcher="consumer"} 23',
      'strand_broker_bytes_out_total{topic="a",fetcher="follower"} 999',
      'strand_broker_bytes_out_total_extra 5',
      'strand_broker_bytes_in_total 7',
    ].join('\n');
    expect(sumSamples(text, 'strand_broker_bytes_out_total', 'fetcher="consumer"')).toBe(123);
    expect(sumSamples(text, 'strand_broker_bytes_out_total')).toBe(1122);
    expect(sumSamples(text, 'strand_broker_bytes_in_total')).toBe(7);
    expect(sumSamples('', 'x')).toBe(0);
  });
});
