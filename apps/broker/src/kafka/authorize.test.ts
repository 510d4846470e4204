import type { Check } from '@strand/auth';
import { KafkaError } from '@strand/kafka-protocol';
import { describe, expect, it } from 'vitest';
import { gateTopics, refusalCode, type TopicGate, withRefused } from './authorize.js';
import { KAFKA_HANDLERS } from './handlers/index.js';

const gate: TopicGate = {
  kind: 'fetch',
  request: { list: 'topics', name: 'topic', partitions: 'partitions', index: 'partition' },
  response: { list: 'responses', name: 'topic', partitions: 'partitions', index: 'partitionIndex' },
  refused: { highWatermark: -1 },
};
const mayRead = (allowed: string[]) => (c: Check) => 'name' in c && allowed.includes(c.name);

describe('the Kafka topic gate', () => {
  it('takes refused topics out of the request, and answers each of their partitions', () => {
    const req = {
      maxWaitMs: 5,
      topics: [
        { topic: 'a', partitions: [{ partition: 0 }, { partition: 1 }] },
        { topic: 'b', partitions: [{ partition: 3 }] },
      ],
    };
    const { req: kept, refused } = gateTopics(gate, req, mayRead(['a']));
    expect(kept).toEqual({ maxWaitMs: 5, topics: [req.topics[0]] });
    expect(refused).toEqual([{ name: 'b', indexes: [3] }]);
    const res = withRefused(gate, { responses: [{ topic: 'a', partitions: [] }] }, refused);
    expect(res.responses).toEqual([
      { topic: 'a', partitions: [] },
      {
        topic: 'b',
        partitions: [
          {
            highWatermark: -1,
            partitionIndex: 3,
            errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
          },
        ],
      },
    ]);
  });

  it('leaves a request alone when every topic is allowed', () => {
    const req = { topics: [{ topic: 'a', partitions: [] }] };
    expect(gateTopics(gate, req, mayRead(['a']))).toEqual({ req, refused: [] });
  });

  it("answers a refusal with its resource's code", () => {
    expect(refusalCode({ kind: 'joinGroup', type: 'group', name: 'g' })).toBe(
      KafkaError.GROUP_AUTHORIZATION_FAILED,
    );
    expect(refusalCode({ kind: 'initProducerId', type: 'cluster', name: 'kafka-cluster' })).toBe(
      KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    );
    expect(refusalCode({ kind: 'produce', type: 'topic', name: 't' })).toBe(
      KafkaError.TOPIC_AUTHORIZATION_FAILED,
    );
  });
});

describe('every Kafka handler', () => {
  it('says how it is authorized (one that does not is served to admins alone)', () => {
    expect(KAFKA_HANDLERS.filter((h) => !h.authorization).map((h) => h.api.name)).toEqual([]);
  });
});
