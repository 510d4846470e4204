import {
  InvalidConfigError,
  InvalidRequestError,
  TimeoutError,
  UnavailableError,
} from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { Admin } from './admin.js';
import { Consumer } from './consumer.js';
import { Producer } from './producer.js';

// Port 1 on loopback: nothing listens, connections are refused at once.
const nowhere = { bootstrap: ['127.0.0.1:1'], retryBackoffMs: 20, requestTimeoutMs: 500 };

describe('Producer without a cluster', () => {
  it('validates its options at construction', () => {
    expect(() => new Producer({ bootstrap: [] })).toThrow(InvalidConfigError);
    expect(() => new Producer({ bootstrap: ['h:1'], bufferBytes: -1 })).toThrow(InvalidConfigError);
    expect(() => new Consumer({ bootstrap: ['h:1'], maxWaitMs: -1 })).toThrow(InvalidConfigError);
    expect(() => new Admin({ bootstrap: ['nope'] })).toThrow(InvalidConfigError);
  });

  it('rejects bad topic names at once, and fails records of an unreachable cluster in time', async () => {
    const p = new Producer({ ...nowhere, deliveryTimeoutMs: 300 });
    await expect(p.send({ topic: 'bad topic', value: 'x' })).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
    const started = Date.now();
    const sends = [p.send({ topic: 't', value: 'a' }), p.send({ topic: 't', value: 'b' })];
    for (const s of sends) await expect(s).rejects.toBeInstanceOf(UnavailableError);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(p.writable).toBe(true);
    await p.close();
    await expect(p.send({ topic: 't', value: 'c' })).rejects.toThrow(/closed/);
    expect(p.writable).toBe(false);
  });
});

describe('Admin and Consumer without a cluster', () => {
  it('report Unavailable after their retries', async () => {
    const admin = new Admin({ ...nowhere, retries: 1 });
    await expect(admin.describeCluster()).rejects.toBeInstanceOf(UnavailableError);
    await expect(admin.describeTopic('t')).rejects.toBeInstanceOf(UnavailableError);
    await admin.close();
    const consumer = new Consumer(nowhere);
    consumer.assign([{ topic: 't', partition: 0, offset: 5 }]);
    expect(consumer.position({ topic: 't', partition: 0 })).toBe(5);
    consumer.seek({ topic: 't', partition: 0 }, 7);
    expect(consumer.position({ topic: 't', partition: 0 })).toBe(7);
    consumer.pause([{ topic: 't', partition: 0 }]);
    expect(consumer.paused()).toEqual([{ topic: 't', partition: 0 }]);
    expect(await consumer.poll(50)).toEqual([]);
    expect(() => consumer.seek({ topic: 'u', partition: 0 }, 1)).toThrow(InvalidRequestError);
    await consumer.close();
  });
});

describe('Producer back-pressure', () => {
  it('blocks sends while the buffer is full, then fails them after maxBlockMs', async () => {
    const { TopicState } = await import('./accumulator.js');
    const p = new Producer({ ...nowhere, bufferBytes: 2048, maxBlockMs: 50, lingerMs: 60_000 });
    // No broker: give the producer a topic's metadata and keep its sender idle.
    const inside = p as unknown as { topics: Map<string, unknown>; sender: { wake(): void } };
    const t = new TopicState('t');
    t.resize(1);
    inside.topics.set('t', t);
    inside.sender.wake = () => {};
    let sent = 0;
    while (p.writable) {
      p.send({ topic: 't', value: Buffer.alloc(100) }).catch(() => {});
      sent++;
    }
    expect(sent).toBeGreaterThan(10);
    let woke = false;
    p.whenWritable().then(() => {
      woke = true;
    });
    const started = Date.now();
    await expect(p.send({ topic: 't', value: 'late' })).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(woke).toBe(false);
  });
});

describe('Producer back-pressure before the metadata arrives', () => {
  it('counts records waiting for their topic against the buffer, and frees the room when they fail', async () => {
    // Regression: records waiting for metadata once took no room, so a send loop to a new
    // topic queued every record (and its promise) before meeting any back-pressure.
    const p = new Producer({ ...nowhere, bufferBytes: 4096, deliveryTimeoutMs: 200 });
    const sends: Promise<unknown>[] = [];
    while (p.writable && sends.length < 1000)
      sends.push(p.send({ topic: 't', value: Buffer.alloc(100) }));
    expect(sends.length).toBeLessThan(100);
    expect(p.writable).toBe(false);
    await Promise.allSettled(sends);
    expect(p.writable).toBe(true);
    await p.close();
  });
});
