import { decodeBatches } from '@strand/wire';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Accumulator, type AccumulatorOptions, TopicState } from './accumulator.js';
import { makePartitioner } from './partitioner.js';

function setup(opts: Partial<AccumulatorOptions> = {}) {
  const sealed: number[] = [];
  const topic = new TopicState('t');
  topic.resize(4);
  const acc = new Accumulator(
    {
      lingerMs: 5,
      batchBytes: 16 * 1024,
      bufferBytes: 1 << 20,
      compression: 'none',
      lingerWhenIdle: true,
      ...opts,
    },
    makePartitioner('default'),
    () => sealed.push(1),
  );
  const take = () => {
    const out = [];
    for (const q of acc.readyQueues) out.push(...q.ready.splice(0));
    acc.readyQueues.clear();
    return out;
  };
  return { acc, topic, sealed, take };
}

describe('Accumulator', () => {
  afterEach(() => vi.useRealTimers());

  it('seals a batch when the next record would not fit, and encodes it once', () => {
    const { acc, topic, take } = setup({ lingerMs: 60_000 });
    const q = topic.queues[0]!;
    const value = Buffer.alloc(100, 1);
    for (let i = 0; i < 1000; i++) acc.append(q, 1, null, value, undefined);
    const batches = take();
    expect(batches.length).toBeGreaterThanOrEqual(6);
    for (const b of batches) {
      expect(b.data!.length).toBeLessThanOrEqual(16 * 1024);
      expect(b.builder).toBeUndefined();
    }
    const counts = batches.map((b) => decodeBatches(b.data!)[0]!.records.length);
    expect(counts.reduce((a, b) => a + b, 0) + (q.open?.count ?? 0)).toBe(1000);
    expect(batches.map((b) => b.seq)).toEqual(batches.map((_, i) => i));
    acc.close();
  });

  it('seals a batch after lingerMs, and at the end of the turn with lingerMs 0', async () => {
    vi.useFakeTimers();
    const { acc, topic, take } = setup({ lingerMs: 5 });
    acc.append(topic.queues[1]!, 1, 'k', 'v', undefined);
    acc.append(topic.queues[1]!, 1, 'k', 'v', undefined);
    vi.advanceTimersByTime(4);
    expect(take()).toHaveLength(0);
    acc.append(topic.queues[2]!, 1, 'k', 'v', undefined);
    vi.advanceTimersByTime(1);
    const first = take();
    expect(first).toHaveLength(1);
    expect(first[0]!.count).toBe(2);
    vi.advanceTimersByTime(5);
    expect(take().map((b) => b.count)).toEqual([1]);
    acc.close();

    const zero = setup({ lingerMs: 0 });
    zero.acc.append(zero.topic.queues[0]!, 1, null, 'a', undefined);
    zero.acc.append(zero.topic.queues[0]!, 1, null, 'b', undefined);
    expect(zero.take()).toHaveLength(0);
    vi.runOnlyPendingTimers();
    expect(zero.take().map((b) => b.count)).toEqual([2]);
    zero.acc.close();
  });

  it('lets a batch linger only while its partition is busy, unless lingerWhenIdle', () => {
    vi.useFakeTimers();
    const { acc, topic, take } = setup({ lingerMs: 60_000, lingerWhenIdle: false });
    const [idle, busy] = [topic.queues[0]!, topic.queues[1]!];
    busy.inFlight = 1;
    acc.append(idle, 1, null, 'a', undefined);
    acc.append(idle, 1, null, 'b', undefined);
    acc.append(busy, 1, null, 'c', undefined);
    expect(take()).toHaveLength(0);
    vi.advanceTimersByTime(0); // the end of this turn
    expect(take().map((b) => [b.partition, b.count])).toEqual([[0, 2]]);
    vi.advanceTimersByTime(1000);
    expect(take()).toHaveLength(0); // busy: lingers
    acc.answered(busy); // still one in flight
    vi.advanceTimersByTime(0);
    expect(take()).toHaveLength(0);
    busy.inFlight = 0;
    acc.answered(busy);
    vi.advanceTimersByTime(0);
    expect(take().map((b) => [b.partition, b.count])).toEqual([[1, 1]]);
    acc.close();

    const kafka = setup({ lingerMs: 60_000, lingerWhenIdle: true });
    kafka.acc.append(kafka.topic.queues[0]!, 1, null, 'a', undefined);
    kafka.acc.answered(kafka.topic.queues[0]!);
    vi.advanceTimersByTime(1000);
    expect(kafka.take()).toHaveLength(0);
    vi.advanceTimersByTime(60_000);
    expect(kafka.take()).toHaveLength(1);
    kafka.acc.close();
  });

  it('does not seal an idle partition early once close() ran', () => {
    vi.useFakeTimers();
    const { acc, topic, take } = setup({ lingerMs: 60_000, lingerWhenIdle: false });
    acc.append(topic.queues[0]!, 1, null, 'a', undefined);
    acc.close();
    vi.advanceTimersByTime(0);
    expect(take()).toHaveLength(0);
  });

  it('turns unwritable when the buffer fills and writable again when batches are done', async () => {
    const { acc, topic, take } = setup({ lingerMs: 60_000, bufferBytes: 4096, batchBytes: 1024 });
    const value = Buffer.alloc(100);
    let n = 0;
    while (acc.writable) {
      acc.append(topic.queues[n % 4]!, 1, null, value, undefined);
      n++;
    }
    expect(n).toBeGreaterThan(30);
    expect(acc.buffered).toBeGreaterThanOrEqual(4096);
    let woke = false;
    const waiting = acc.whenWritable().then(() => {
      woke = true;
    });
    acc.sealAll();
    const batches = take();
    acc.release(batches[0]!);
    await Promise.resolve();
    expect(woke).toBe(acc.writable);
    for (const b of batches.slice(1)) acc.release(b);
    await waiting;
    expect(acc.writable).toBe(true);
    expect(acc.buffered).toBe(0);
    expect(acc.incomplete.size).toBe(0);
    acc.close();
  });

  it('moves the sticky partition on when its batch is sealed', () => {
    const { acc, topic } = setup({ lingerMs: 60_000, batchBytes: 512 });
    const p = makePartitioner('default');
    const used = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const part = p.choose({ topic: 't', value: 'x' }, 4, topic.slot);
      used.add(part);
      acc.append(topic.queues[part]!, 1, null, Buffer.alloc(50), undefined);
    }
    expect(used.size).toBeGreaterThan(1);
    acc.close();
  });
});
