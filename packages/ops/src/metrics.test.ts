import { describe, expect, it } from 'vitest';
import { Metrics, metricName } from './metrics.js';

describe('metric names', () => {
  it('are prefixed strand_ and follow one style', () => {
    expect(metricName('broker_bytes_in_total', 'counter')).toBe('strand_broker_bytes_in_total');
    expect(metricName('strand_raft_term', 'gauge')).toBe('strand_raft_term');
    expect(() => metricName('broker_bytes_in', 'counter')).toThrow(/_total/);
    expect(() => metricName('raft_term_total', 'gauge')).toThrow(/only a counter/);
    expect(() => metricName('Broker_Bytes', 'gauge')).toThrow(/snake case/);
    expect(() => metricName('produce_latency', 'histogram')).toThrow(/unit/);
  });
});

describe('Metrics', () => {
  it('samples gauges and external counters at scrape time, dropping label sets that went', async () => {
    const m = new Metrics({ defaults: false });
    let topics: [Record<string, string>, number][] = [
      [{ topic: 'a' }, 10],
      [{ topic: 'b' }, 20],
    ];
    let total = 3;
    m.gaugeOf('log_size_bytes', 'bytes', () => topics, ['topic']);
    m.counterOf('things_total', 'things', () => total);
    let text = await m.scrape();
    expect(text).toContain('strand_log_size_bytes{topic="a"} 10');
    expect(text).toContain('strand_log_size_bytes{topic="b"} 20');
    expect(text).toContain('strand_things_total 3');
    topics = [[{ topic: 'a' }, 11]];
    total = 5;
    text = await m.scrape();
    expect(text).toContain('strand_log_size_bytes{topic="a"} 11');
    expect(text).not.toContain('topic="b"');
    expect(text).toContain('strand_things_total 5');
  });

  it("includes Node's default process metrics", async () => {
    const text = await new Metrics().scrape();
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
  });
});
