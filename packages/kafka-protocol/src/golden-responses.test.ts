import { createRequire } from 'node:module';
import { encodeBatch } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { APIS } from './apis/index.js';
import { encodeResponse } from './frame.js';
import { concat } from './io.js';

/**
 * Golden bytes the other way: responses encoded here, read by KafkaJS 2.2.4's response
 * decoders (the versions it has), must show KafkaJS the values we meant.
 */

const require = createRequire(import.meta.url);

interface Case {
  js: string;
  key: number;
  versions: number[];
  body: unknown;
  /** What KafkaJS must decode (a subset, in KafkaJS's own names). */
  expected: Record<string, unknown>;
}

const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

const batch = encodeBatch(
  [
    { key: 'k', value: 'v1', timestamp: 1700000000000, headers: { h: 'x' } },
    { key: null, value: 'v2', timestamp: 1700000000007 },
  ],
  { baseOffset: 40, now: 1700000000000 },
);

const CASES: Case[] = [
  {
    js: 'apiVersions',
    key: 18,
    versions: range(0, 2),
    body: {
      apiKeys: [
        { apiKey: 3, minVersion: 0, maxVersion: 12 },
        { apiKey: 0, minVersion: 3, maxVersion: 9 },
      ],
    },
    expected: {
      errorCode: 0,
      apiVersions: [
        { apiKey: 3, minVersion: 0, maxVersion: 12 },
        { apiKey: 0, minVersion: 3, maxVersion: 9 },
      ],
    },
  },
  {
    js: 'metadata',
    key: 3,
    versions: range(0, 6),
    body: {
      brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092, rack: 'eu-1a' }],
      clusterId: 'strand',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          partitions: [
            { errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] },
          ],
        },
        { errorCode: 3, name: 'missing', partitions: [] },
      ],
    },
    expected: {
      brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092 }],
      topicMetadata: [
        {
          topicErrorCode: 0,
          topic: 'orders',
          partitionMetadata: [
            { partitionErrorCode: 0, partitionId: 0, leader: 1, replicas: [1], isr: [1] },
          ],
        },
        { topicErrorCode: 3, topic: 'missing', partitionMetadata: [] },
      ],
    },
  },
  {
    js: 'produce',
    key: 0,
    versions: range(3, 7),
    body: {
      responses: [
        {
          name: 'orders',
          partitionResponses: [
            { index: 2, errorCode: 0, baseOffset: 1234567890123, logAppendTimeMs: -1 },
          ],
        },
      ],
      throttleTimeMs: 0,
    },
    expected: {
      topics: [
        {
          topicName: 'orders',
          partitions: [{ partition: 2, errorCode: 0, baseOffset: '1234567890123' }],
        },
      ],
    },
  },
  {
    js: 'fetch',
    key: 1,
    versions: range(4, 11),
    body: {
      responses: [
        {
          topic: 'orders',
          partitions: [
            {
              partitionIndex: 3,
              highWatermark: 42,
              lastStableOffset: 42,
              logStartOffset: 0,
              abortedTransactions: [],
              preferredReadReplica: -1,
              records: batch,
            },
          ],
        },
      ],
    },
    expected: {
      responses: [
        {
          topicName: 'orders',
          partitions: [
            {
              partition: 3,
              errorCode: 0,
              highWatermark: '42',
              lastStableOffset: '42',
              messages: [
                {
                  offset: '40',
                  key: Buffer.from('k'),
                  value: Buffer.from('v1'),
                  headers: { h: Buffer.from('x') },
                },
                { offset: '41', key: null, value: Buffer.from('v2'), timestamp: '1700000000007' },
              ],
            },
          ],
        },
      ],
    },
  },
  {
    js: 'listOffsets',
    key: 2,
    versions: range(1, 3),
    body: {
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 1, timestamp: -1, offset: 99 }] }],
    },
    expected: {
      responses: [{ topic: 'orders', partitions: [{ partition: 1, errorCode: 0, offset: '99' }] }],
    },
  },
  {
    js: 'initProducerId',
    key: 22,
    versions: range(0, 1),
    body: { producerId: 4711, producerEpoch: 3 },
    expected: { errorCode: 0, producerId: '4711', producerEpoch: 3 },
  },
  {
    js: 'findCoordinator',
    key: 10,
    versions: range(0, 2),
    body: { nodeId: 2, host: 'b2.local', port: 9093 },
    expected: { errorCode: 0, coordinator: { nodeId: 2, host: 'b2.local', port: 9093 } },
  },
  {
    js: 'joinGroup',
    key: 11,
    versions: range(0, 5),
    body: {
      generationId: 4,
      protocolName: 'RoundRobinAssigner',
      leader: 'm-1',
      memberId: 'm-2',
      members: [{ memberId: 'm-1', metadata: Buffer.from('meta') }],
    },
    expected: {
      errorCode: 0,
      generationId: 4,
      groupProtocol: 'RoundRobinAssigner',
      leaderId: 'm-1',
      memberId: 'm-2',
      members: [{ memberId: 'm-1', memberMetadata: Buffer.from('meta') }],
    },
  },
  {
    js: 'syncGroup',
    key: 14,
    versions: range(0, 3),
    body: { errorCode: 27, assignment: Buffer.from('assigned') },
    expected: { errorCode: 27, memberAssignment: Buffer.from('assigned') },
  },
  {
    js: 'heartbeat',
    key: 12,
    versions: range(0, 3),
    body: { errorCode: 22 },
    expected: { errorCode: 22 },
  },
  {
    js: 'leaveGroup',
    key: 13,
    versions: range(0, 2),
    body: { errorCode: 25 },
    expected: { errorCode: 25 },
  },
  {
    js: 'offsetCommit',
    key: 8,
    versions: range(0, 5),
    body: { topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0 }] }] },
    expected: { responses: [{ topic: 'orders', partitions: [{ partition: 0, errorCode: 0 }] }] },
  },
  {
    js: 'offsetFetch',
    key: 9,
    versions: range(1, 4),
    body: {
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, committedOffset: 100, metadata: 'md' },
            { partitionIndex: 1, committedOffset: -1, metadata: '' },
          ],
        },
      ],
    },
    expected: {
      responses: [
        {
          topic: 'orders',
          partitions: [
            { partition: 0, offset: '100', metadata: 'md', errorCode: 0 },
            { partition: 1, offset: '-1', metadata: '', errorCode: 0 },
          ],
        },
      ],
    },
  },
  {
    js: 'listGroups',
    key: 16,
    versions: range(0, 2),
    body: { groups: [{ groupId: 'billing', protocolType: 'consumer' }] },
    expected: { errorCode: 0, groups: [{ groupId: 'billing', protocolType: 'consumer' }] },
  },
  {
    js: 'describeGroups',
    key: 15,
    versions: range(0, 2),
    body: {
      groups: [
        {
          groupId: 'billing',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'range',
          members: [
            {
              memberId: 'm-1',
              clientId: 'c',
              clientHost: '/127.0.0.1',
              memberMetadata: Buffer.from('md'),
              memberAssignment: Buffer.from('as'),
            },
          ],
        },
      ],
    },
    expected: {
      groups: [
        {
          errorCode: 0,
          groupId: 'billing',
          state: 'Stable',
          protocolType: 'consumer',
          protocol: 'range',
          members: [
            {
              memberId: 'm-1',
              clientId: 'c',
              clientHost: '/127.0.0.1',
              memberMetadata: Buffer.from('md'),
              memberAssignment: Buffer.from('as'),
            },
          ],
        },
      ],
    },
  },
  {
    js: 'deleteGroups',
    key: 42,
    versions: range(0, 1),
    body: { results: [{ groupId: 'billing', errorCode: 0 }] },
    expected: { results: [{ groupId: 'billing', errorCode: 0 }] },
  },
  {
    js: 'createTopics',
    key: 19,
    versions: range(0, 3),
    body: { topics: [{ name: 'orders', errorCode: 36, errorMessage: 'exists' }] },
    expected: { topicErrors: [{ topic: 'orders', errorCode: 36 }] },
  },
  {
    js: 'deleteTopics',
    key: 20,
    versions: range(0, 1),
    body: { responses: [{ name: 'orders', errorCode: 0 }] },
    expected: { topicErrors: [{ topic: 'orders', errorCode: 0 }] },
  },
  {
    js: 'createPartitions',
    key: 37,
    versions: range(0, 1),
    body: { results: [{ name: 'orders', errorCode: 37, errorMessage: 'fewer' }] },
    expected: { topicErrors: [{ topic: 'orders', errorCode: 37 }] },
  },
  {
    js: 'describeConfigs',
    key: 32,
    versions: range(0, 2),
    body: {
      results: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: 'orders',
          configs: [{ name: 'retention.ms', value: '1000', isDefault: false, configSource: 1 }],
        },
      ],
    },
    expected: {
      resources: [
        {
          errorCode: 0,
          resourceType: 2,
          resourceName: 'orders',
          configEntries: [{ configName: 'retention.ms', configValue: '1000', readOnly: false }],
        },
      ],
    },
  },
  {
    js: 'createAcls',
    key: 30,
    versions: range(0, 1),
    body: {
      results: [
        { errorCode: 0, errorMessage: null },
        { errorCode: 42, errorMessage: 'bad' },
      ],
    },
    expected: {
      creationResponses: [
        { errorCode: 0, errorMessage: null },
        { errorCode: 42, errorMessage: 'bad' },
      ],
    },
  },
  {
    js: 'describeAcls',
    key: 29,
    versions: range(0, 1),
    body: {
      errorCode: 0,
      errorMessage: null,
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          patternType: 3,
          acls: [{ principal: 'User:alice', host: '*', operation: 4, permissionType: 3 }],
        },
      ],
    },
    expected: {
      errorCode: 0,
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          acls: [{ principal: 'User:alice', host: '*', operation: 4, permissionType: 3 }],
        },
      ],
    },
  },
  {
    js: 'deleteAcls',
    key: 31,
    versions: range(0, 1),
    body: {
      filterResults: [
        {
          errorCode: 0,
          errorMessage: null,
          matchingAcls: [
            {
              errorCode: 0,
              errorMessage: null,
              resourceType: 3,
              resourceName: 'billing',
              patternType: 3,
              principal: 'User:bob',
              host: '*',
              operation: 3,
              permissionType: 2,
            },
          ],
        },
      ],
    },
    expected: {
      filterResponses: [
        {
          errorCode: 0,
          matchingAcls: [
            {
              resourceType: 3,
              resourceName: 'billing',
              principal: 'User:bob',
              host: '*',
              operation: 3,
              permissionType: 2,
            },
          ],
        },
      ],
    },
  },
  {
    js: 'saslHandshake',
    key: 17,
    versions: range(0, 1),
    body: { mechanisms: ['SCRAM-SHA-256', 'PLAIN'] },
    expected: { errorCode: 0, enabledMechanisms: ['SCRAM-SHA-256', 'PLAIN'] },
  },
  {
    js: 'saslAuthenticate',
    key: 36,
    versions: range(0, 1),
    body: { authBytes: Buffer.from('r=abc,s=salt,i=4096') },
    // KafkaJS puts the length back in front for its mechanisms.
    expected: {
      errorCode: 0,
      authBytes: Buffer.concat([Buffer.from([0, 0, 0, 19]), Buffer.from('r=abc,s=salt,i=4096')]),
    },
  },
];

const rows = CASES.flatMap((c) => c.versions.map((v) => [c.js, v, c] as const));

describe.each(rows)('KafkaJS %s v%i response', (js, version, c) => {
  it('decodes to the values we meant', async () => {
    const { decode } = require(`kafkajs/src/protocol/requests/${js}/v${version}/response`) as {
      decode: (payload: Buffer) => Promise<unknown>;
    };
    const bytes = concat(encodeResponse(APIS.get(c.key)!, version, 5, c.body as never));
    expect(bytes.readInt32BE(4)).toBe(5);
    // KafkaJS hands its decoders what follows the correlation id (header v0).
    expect(await decode(bytes.subarray(8))).toMatchObject(c.expected);
  });
});
