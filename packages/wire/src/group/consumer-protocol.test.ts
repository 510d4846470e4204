import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
} from './consumer-protocol.js';

const topic = fc.string({ minLength: 1, maxLength: 20 });
const tpList = fc.array(
  fc.record({ topic, partitions: fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 })) }),
  { maxLength: 5 },
);
const userData = fc.option(fc.uint8Array({ maxLength: 16 }).map(Buffer.from), { nil: null });

describe('consumer protocol', () => {
  it('decodes a v0 subscription byte for byte (as KafkaJS and librdkafka send it)', () => {
    // version 0, topics ["ab"], user_data null
    const bytes = Buffer.from('0000' + '00000001' + '0002' + '6162' + 'ffffffff', 'hex');
    expect(decodeConsumerSubscription(bytes)).toEqual({
      version: 0,
      topics: ['ab'],
      userData: null,
      ownedPartitions: [],
    });
    expect(
      encodeConsumerSubscription({ topics: ['ab'], userData: null, ownedPartitions: [] }),
    ).toEqual(bytes);
  });

  it('decodes a v3 subscription, ignoring generation and rack', () => {
    const bytes = Buffer.from(
      `0003 00000001 0001 74 00000000 00000001 0001 74 00000001 00000002 00000007 0002 7231`.replace(
        / /g,
        '',
      ),
      'hex',
    );
    expect(decodeConsumerSubscription(bytes)).toEqual({
      version: 3,
      topics: ['t'],
      userData: Buffer.alloc(0),
      ownedPartitions: [{ topic: 't', partitions: [2] }],
    });
  });

  it('round-trips subscriptions and assignments', () => {
    fc.assert(
      fc.property(fc.array(topic, { maxLength: 5 }), userData, tpList, (topics, ud, owned) => {
        const s = { topics, userData: ud, ownedPartitions: owned };
        expect(decodeConsumerSubscription(encodeConsumerSubscription(s))).toEqual({
          ...s,
          version: owned.length > 0 ? 1 : 0,
        });
        const a = { partitions: owned, userData: ud };
        expect(decodeConsumerAssignment(encodeConsumerAssignment(a))).toEqual({
          ...a,
          version: 0,
        });
      }),
    );
  });

  it('an empty assignment is no partitions; garbage and truncations are undefined, never a throw', () => {
    expect(decodeConsumerAssignment(Buffer.alloc(0))?.partitions).toEqual([]);
    const full = encodeConsumerAssignment({
      partitions: [{ topic: 'orders', partitions: [0, 1, 2] }],
      userData: null,
    });
    for (let n = 1; n < full.length - 4; n++)
      expect(decodeConsumerAssignment(full.subarray(0, n))).toBeUndefined();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (raw) => {
        const b = Buffer.from(raw);
        decodeConsumerSubscription(b);
        decodeConsumerAssignment(b);
      }),
    );
  });
});
