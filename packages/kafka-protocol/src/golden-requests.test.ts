import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { APIS } from './apis/index.js';
import { decodeRequest, decodeRequestHeader, encodeRequest } from './frame.js';

/**
 * Golden bytes from an independent implementation: KafkaJS 2.2.4's request encoders (the
 * versions it has, all classic). Each request it encodes must decode here to the values it was
 * given, and encode here to the very same bytes.
 */

const require = createRequire(import.meta.url);
const kafkajs = (path: string) => require(`kafkajs/src/protocol/${path}`);
const frameRequest = kafkajs('request') as (r: unknown) => Promise<{ buffer: Buffer }>;
const Long = require('kafkajs/src/utils/long') as { fromNumber(n: number): unknown };

interface Case {
  /** KafkaJS's folder under src/protocol/requests. */
  js: string;
  key: number;
  versions: number[];
  args: unknown;
  /** What our decoder must find (a subset of the fields). */
  expected: Record<string, unknown>;
}

const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

const ACL_CREATION = {
  resourceType: 2,
  resourceName: 'orders',
  resourcePatternType: 3,
  principal: 'User:alice',
  host: '*',
  operation: 4,
  permissionType: 3,
};

const CASES: Case[] = [
  { js: 'apiVersions', key: 18, versions: range(0, 2), args: undefined, expected: {} },
  {
    js: 'metadata',
    key: 3,
    versions: range(0, 6),
    args: { topics: ['orders', 'events'], allowAutoTopicCreation: false },
    expected: { topics: [{ name: 'orders' }, { name: 'events' }] },
  },
  {
    js: 'produce',
    key: 0,
    versions: range(3, 7),
    args: {
      acks: -1,
      timeout: 30000,
      producerId: Long.fromNumber(4711),
      producerEpoch: 2,
      topicData: [
        {
          topic: 'orders',
          partitions: [
            {
              partition: 2,
              firstSequence: 7,
              messages: [
                { key: 'k', value: 'v', timestamp: 1700000000000, headers: { h: 'x' } },
                { key: null, value: 'w', timestamp: 1700000000005 },
              ],
            },
          ],
        },
      ],
    },
    expected: {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: 'orders', partitionData: [{ index: 2 }] }],
    },
  },
  {
    js: 'fetch',
    key: 1,
    versions: range(4, 11),
    args: {
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      rackId: 'eu-1a',
      topics: [
        { topic: 'orders', partitions: [{ partition: 3, fetchOffset: '42', maxBytes: 1048576 }] },
      ],
    },
    expected: {
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      topics: [
        {
          topic: 'orders',
          partitions: [{ partition: 3, fetchOffset: 42, partitionMaxBytes: 1048576 }],
        },
      ],
    },
  },
  {
    js: 'listOffsets',
    key: 2,
    versions: range(1, 3),
    args: {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ topic: 'orders', partitions: [{ partition: 1, timestamp: -2 }] }],
    },
    expected: {
      replicaId: -1,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 1, timestamp: -2 }] }],
    },
  },
  {
    js: 'initProducerId',
    key: 22,
    versions: range(0, 1),
    args: { transactionalId: null, transactionTimeout: 60000 },
    expected: { transactionalId: null, transactionTimeoutMs: 60000 },
  },
  {
    js: 'findCoordinator',
    key: 10,
    versions: range(0, 2),
    args: { groupId: 'billing', coordinatorKey: 'billing', coordinatorType: 0 },
    expected: { key: 'billing' },
  },
  {
    js: 'joinGroup',
    key: 11,
    versions: range(0, 5),
    args: {
      groupId: 'billing',
      sessionTimeout: 30000,
      rebalanceTimeout: 60000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 2]) }],
    },
    expected: {
      groupId: 'billing',
      sessionTimeoutMs: 30000,
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 2]) }],
    },
  },
  {
    js: 'syncGroup',
    key: 14,
    versions: range(0, 3),
    args: {
      groupId: 'billing',
      generationId: 3,
      memberId: 'm-1',
      groupAssignment: [{ memberId: 'm-1', memberAssignment: Buffer.from('assigned') }],
    },
    expected: {
      groupId: 'billing',
      generationId: 3,
      memberId: 'm-1',
      assignments: [{ memberId: 'm-1', assignment: Buffer.from('assigned') }],
    },
  },
  {
    js: 'heartbeat',
    key: 12,
    versions: range(0, 3),
    args: { groupId: 'billing', groupGenerationId: 3, memberId: 'm-1' },
    expected: { groupId: 'billing', generationId: 3, memberId: 'm-1' },
  },
  {
    js: 'leaveGroup',
    key: 13,
    versions: range(0, 2),
    args: { groupId: 'billing', memberId: 'm-1' },
    expected: { groupId: 'billing', memberId: 'm-1' },
  },
  {
    js: 'leaveGroup',
    key: 13,
    versions: [3],
    args: { groupId: 'billing', members: [{ memberId: 'm-1' }] },
    expected: { groupId: 'billing', members: [{ memberId: 'm-1', groupInstanceId: null }] },
  },
  {
    js: 'offsetCommit',
    key: 8,
    versions: range(0, 5),
    args: {
      groupId: 'billing',
      groupGenerationId: 3,
      memberId: 'm-1',
      retentionTime: -1,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '100', metadata: 'md' }] }],
    },
    expected: {
      groupId: 'billing',
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, committedOffset: 100, committedMetadata: 'md' }],
        },
      ],
    },
  },
  {
    js: 'offsetFetch',
    key: 9,
    versions: range(1, 4),
    args: {
      groupId: 'billing',
      topics: [{ topic: 'orders', partitions: [{ partition: 0 }, { partition: 1 }] }],
    },
    expected: { groupId: 'billing', topics: [{ name: 'orders', partitionIndexes: [0, 1] }] },
  },
  { js: 'listGroups', key: 16, versions: range(0, 2), args: undefined, expected: {} },
  {
    js: 'describeGroups',
    key: 15,
    versions: range(0, 2),
    args: { groupIds: ['billing', 'audit'] },
    expected: { groups: ['billing', 'audit'] },
  },
  {
    js: 'deleteGroups',
    key: 42,
    versions: range(0, 1),
    args: ['billing'],
    expected: { groupsNames: ['billing'] },
  },
  {
    js: 'createTopics',
    key: 19,
    versions: range(0, 3),
    args: {
      topics: [
        {
          topic: 'orders',
          numPartitions: 3,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: '1000' }],
        },
      ],
      timeout: 5000,
      validateOnly: false,
    },
    expected: {
      topics: [
        {
          name: 'orders',
          numPartitions: 3,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'retention.ms', value: '1000' }],
        },
      ],
      timeoutMs: 5000,
    },
  },
  {
    js: 'deleteTopics',
    key: 20,
    versions: range(0, 1),
    args: { topics: ['orders'], timeout: 5000 },
    expected: { topicNames: ['orders'], timeoutMs: 5000 },
  },
  {
    js: 'createPartitions',
    key: 37,
    versions: range(0, 1),
    args: { topicPartitions: [{ topic: 'orders', count: 6 }], timeout: 5000 },
    // KafkaJS writes an empty assignment list as null.
    expected: { topics: [{ name: 'orders', count: 6, assignments: null }], timeoutMs: 5000 },
  },
  {
    js: 'describeConfigs',
    key: 32,
    versions: range(0, 2),
    args: {
      resources: [{ type: 2, name: 'orders', configNames: ['retention.ms'] }],
      includeSynonyms: true,
    },
    expected: {
      resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.ms'] }],
    },
  },
  {
    js: 'createAcls',
    key: 30,
    versions: range(0, 1),
    // KafkaJS's names are Kafka's here.
    args: { creations: [ACL_CREATION] },
    expected: { creations: [ACL_CREATION] },
  },
  {
    js: 'describeAcls',
    key: 29,
    versions: range(0, 1),
    args: {
      resourceType: 1,
      resourceName: null,
      resourcePatternType: 3,
      principal: 'User:alice',
      host: null,
      operation: 1,
      permissionType: 1,
    },
    expected: {
      resourceTypeFilter: 1,
      resourceNameFilter: null,
      principalFilter: 'User:alice',
      hostFilter: null,
      operation: 1,
      permissionType: 1,
    },
  },
  {
    js: 'deleteAcls',
    key: 31,
    versions: range(0, 1),
    args: {
      filters: [
        {
          resourceType: 3,
          resourceName: 'billing',
          resourcePatternType: 3,
          principal: null,
          host: '*',
          operation: 3,
          permissionType: 2,
        },
      ],
    },
    expected: {
      filters: [
        {
          resourceTypeFilter: 3,
          resourceNameFilter: 'billing',
          patternTypeFilter: 3,
          principalFilter: null,
          hostFilter: '*',
          operation: 3,
          permissionType: 2,
        },
      ],
    },
  },
  {
    js: 'saslHandshake',
    key: 17,
    versions: range(0, 1),
    args: { mechanism: 'SCRAM-SHA-256' },
    expected: { mechanism: 'SCRAM-SHA-256' },
  },
  {
    js: 'saslAuthenticate',
    key: 36,
    versions: range(0, 1),
    // KafkaJS's mechanisms hand it the bytes with their length in front.
    args: {
      authBytes: Buffer.concat([Buffer.from([0, 0, 0, 15]), Buffer.from('n,,n=user,r=abc')]),
    },
    expected: { authBytes: Buffer.from('n,,n=user,r=abc') },
  },
];

const rows = CASES.flatMap((c) => c.versions.map((v) => [c.js, v, c] as const));

describe.each(rows)('KafkaJS %s v%i request', (js, version, c) => {
  it('decodes to the values given and encodes to the same bytes', async () => {
    const make = kafkajs(`requests/${js}/v${version}/request`) as (args: unknown) => unknown;
    const { buffer } = await frameRequest({
      correlationId: 77,
      clientId: 'golden',
      request: make(c.args),
    });
    const api = APIS.get(c.key)!;
    const frame = buffer.subarray(4);
    const { header, bodyOffset } = decodeRequestHeader(frame);
    expect(header).toEqual({
      apiKey: c.key,
      apiVersion: version,
      correlationId: 77,
      clientId: 'golden',
    });
    const body = decodeRequest(api, version, frame, bodyOffset!);
    expect(body).toMatchObject(c.expected);
    const again = encodeRequest(api, version, header, body as never);
    expect(again.toString('hex')).toBe(buffer.toString('hex'));
  });
});
