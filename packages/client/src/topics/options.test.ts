import { InvalidConfigError } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { backoffMs, clientOptions, consumerOptions, producerOptions } from './options.js';

describe('options', () => {
  it('fills in the documented defaults', () => {
    const p = producerOptions({ bootstrap: ['127.0.0.1:9092'] });
    expect(p).toMatchObject({
      acks: -1,
      lingerMs: 5,
      lingerWhenIdle: false,
      batchBytes: 256 * 1024,
      bufferBytes: 16 * 1024 * 1024,
      maxBlockMs: 60_000,
      compression: 'none',
      partitioner: 'default',
      deliveryTimeoutMs: 120_000,
      maxInFlight: 5,
      requestTimeoutMs: 30_000,
      // The delivery timeout bounds a record's retries, as in Kafka.
      retries: 1_000_000,
      retryBackoffMs: 100,
      metadataMaxAgeMs: 300_000,
    });
    expect(consumerOptions({ bootstrap: ['h:1'] }).retries).toBe(10);
    expect(producerOptions({ bootstrap: ['h:1'], acks: 'all' }).acks).toBe(-1);
    expect(consumerOptions({ bootstrap: ['h:1'] })).toMatchObject({
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 50 * 1024 * 1024,
      maxPartitionBytes: 8 * 1024 * 1024,
      autoOffsetReset: 'latest',
    });
  });

  it('rejects bad bootstrap lists and numbers with InvalidConfigError', () => {
    const bad: unknown[] = [
      { bootstrap: [] },
      { bootstrap: ['localhost'] },
      { bootstrap: ['h:0'] },
      { bootstrap: ['h:70000'] },
      { bootstrap: ['a b:1'] },
      { bootstrap: ['h:1'], requestTimeoutMs: -1 },
      { bootstrap: ['h:1'], retries: 1.5 },
    ];
    for (const o of bad) expect(() => clientOptions(o as never)).toThrow(InvalidConfigError);
    expect(() => producerOptions({ bootstrap: ['h:1'], lingerMs: -5 })).toThrow(/lingerMs/);
    expect(() => producerOptions({ bootstrap: ['h:1'], acks: 2 as never })).toThrow(
      InvalidConfigError,
    );
    expect(() => producerOptions({ bootstrap: ['h:1'], partitioner: 'x' as never })).toThrow(
      InvalidConfigError,
    );
    expect(() => consumerOptions({ bootstrap: ['h:1'], autoOffsetReset: 'none' as never })).toThrow(
      InvalidConfigError,
    );
    expect(
      clientOptions({ bootstrap: ['[::1]:9092', 'broker-1.local:9092'] }).bootstrap,
    ).toHaveLength(2);
    expect(typeof producerOptions({ bootstrap: ['h:1'], partitioner: () => 0 }).partitioner).toBe(
      'function',
    );
  });

  it('backs off exponentially, capped at 1 s', () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffMs(100, a))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });
});
