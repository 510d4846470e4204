import { api, arr, bool, i8, i16, i32, i64, list, records, str, struct, uuid } from '../schema.js';

// Produce, fetch and offsets: the APIs every client needs. Written from Kafka's published message formats.

export const ApiVersions = api({
  key: 18,
  name: 'ApiVersions',
  versions: '0-3',
  flexible: '3+',
  request: [str('clientSoftwareName', '3+'), str('clientSoftwareVersion', '3+')],
  response: [
    i16('errorCode', '0+'),
    arr('apiKeys', '0+', [i16('apiKey', '0+'), i16('minVersion', '0+'), i16('maxVersion', '0+')]),
    i32('throttleTimeMs', '1+'),
    arr(
      'supportedFeatures',
      '3+',
      [str('name', '3+'), i16('minVersion', '3+'), i16('maxVersion', '3+')],
      { tag: 0 },
    ),
    i64('finalizedFeaturesEpoch', '3+', { tag: 1, default: -1 }),
    arr(
      'finalizedFeatures',
      '3+',
      [str('name', '3+'), i16('maxVersionLevel', '3+'), i16('minVersionLevel', '3+')],
      { tag: 2 },
    ),
    bool('zkMigrationReady', '3+', { tag: 3 }),
  ],
});

export const Metadata = api({
  key: 3,
  name: 'Metadata',
  versions: '0-12',
  flexible: '9+',
  request: [
    arr('topics', '0+', [uuid('topicId', '10+'), str('name', '0+', { nullable: '10+' })], {
      nullable: '1+',
    }),
    bool('allowAutoTopicCreation', '4+', { default: true }),
    bool('includeClusterAuthorizedOperations', '8-10'),
    bool('includeTopicAuthorizedOperations', '8+'),
  ],
  response: [
    i32('throttleTimeMs', '3+'),
    arr('brokers', '0+', [
      i32('nodeId', '0+'),
      str('host', '0+'),
      i32('port', '0+'),
      str('rack', '1+', { nullable: '1+' }),
    ]),
    str('clusterId', '2+', { nullable: '2+' }),
    i32('controllerId', '1+', { default: -1 }),
    arr('topics', '0+', [
      i16('errorCode', '0+'),
      str('name', '0+', { nullable: '12+' }),
      uuid('topicId', '10+'),
      bool('isInternal', '1+'),
      arr('partitions', '0+', [
        i16('errorCode', '0+'),
        i32('partitionIndex', '0+'),
        i32('leaderId', '0+'),
        i32('leaderEpoch', '7+', { default: -1 }),
        list('replicaNodes', '0+', 'int32'),
        list('isrNodes', '0+', 'int32'),
        list('offlineReplicas', '5+', 'int32'),
      ]),
      i32('topicAuthorizedOperations', '8+', { default: -2147483648 }),
    ]),
    i32('clusterAuthorizedOperations', '8-10', { default: -2147483648 }),
  ],
});

export const Produce = api({
  key: 0,
  name: 'Produce',
  versions: '3-9',
  flexible: '9+',
  request: [
    str('transactionalId', '3+', { nullable: '3+' }),
    i16('acks', '0+'),
    i32('timeoutMs', '0+'),
    arr('topicData', '0+', [
      str('name', '0+'),
      arr('partitionData', '0+', [
        i32('index', '0+'),
        records('records', '0+', { nullable: '0+' }),
      ]),
    ]),
  ],
  response: [
    arr('responses', '0+', [
      str('name', '0+'),
      arr('partitionResponses', '0+', [
        i32('index', '0+'),
        i16('errorCode', '0+'),
        i64('baseOffset', '0+'),
        i64('logAppendTimeMs', '2+', { default: -1 }),
        i64('logStartOffset', '5+', { default: -1 }),
        arr('recordErrors', '8+', [
          i32('batchIndex', '8+'),
          str('batchIndexErrorMessage', '8+', { nullable: '8+' }),
        ]),
        str('errorMessage', '8+', { nullable: '8+' }),
      ]),
    ]),
    i32('throttleTimeMs', '1+'),
  ],
});

export const Fetch = api({
  key: 1,
  name: 'Fetch',
  versions: '4-12',
  flexible: '12+',
  request: [
    str('clusterId', '12+', { nullable: '12+', tag: 0 }),
    i32('replicaId', '0-14', { default: -1 }),
    i32('maxWaitMs', '0+'),
    i32('minBytes', '0+'),
    i32('maxBytes', '3+', { default: 0x7fffffff }),
    i8('isolationLevel', '4+'),
    i32('sessionId', '7+'),
    i32('sessionEpoch', '7+', { default: -1 }),
    arr('topics', '0+', [
      str('topic', '0-12'),
      arr('partitions', '0+', [
        i32('partition', '0+'),
        i32('currentLeaderEpoch', '9+', { default: -1 }),
        i64('fetchOffset', '0+'),
        i32('lastFetchedEpoch', '12+', { default: -1 }),
        i64('logStartOffset', '5+', { default: -1 }),
        i32('partitionMaxBytes', '0+'),
      ]),
    ]),
    arr('forgottenTopicsData', '7+', [str('topic', '7-12'), list('partitions', '7+', 'int32')]),
    str('rackId', '11+'),
  ],
  response: [
    i32('throttleTimeMs', '1+'),
    i16('errorCode', '7+'),
    i32('sessionId', '7+'),
    arr('responses', '0+', [
      str('topic', '0-12'),
      arr('partitions', '0+', [
        i32('partitionIndex', '0+'),
        i16('errorCode', '0+'),
        i64('highWatermark', '0+'),
        i64('lastStableOffset', '4+', { default: -1 }),
        i64('logStartOffset', '5+', { default: -1 }),
        struct(
          'divergingEpoch',
          '12+',
          [i32('epoch', '12+', { default: -1 }), i64('endOffset', '12+', { default: -1 })],
          { tag: 0 },
        ),
        struct(
          'currentLeader',
          '12+',
          [i32('leaderId', '12+', { default: -1 }), i32('leaderEpoch', '12+', { default: -1 })],
          { tag: 1 },
        ),
        struct(
          'snapshotId',
          '12+',
          [i64('endOffset', '0+', { default: -1 }), i32('epoch', '0+', { default: -1 })],
          { tag: 2 },
        ),
        arr('abortedTransactions', '4+', [i64('producerId', '4+'), i64('firstOffset', '4+')], {
          nullable: '4+',
        }),
        i32('preferredReadReplica', '11+', { default: -1 }),
        records('records', '0+', { nullable: '0+' }),
      ]),
    ]),
  ],
});

export const ListOffsets = api({
  key: 2,
  name: 'ListOffsets',
  versions: '1-7',
  flexible: '6+',
  request: [
    i32('replicaId', '0+'),
    i8('isolationLevel', '2+'),
    arr('topics', '0+', [
      str('name', '0+'),
      arr('partitions', '0+', [
        i32('partitionIndex', '0+'),
        i32('currentLeaderEpoch', '4+', { default: -1 }),
        i64('timestamp', '0+'),
      ]),
    ]),
  ],
  response: [
    i32('throttleTimeMs', '2+'),
    arr('topics', '0+', [
      str('name', '0+'),
      arr('partitions', '0+', [
        i32('partitionIndex', '0+'),
        i16('errorCode', '0+'),
        i64('timestamp', '1+', { default: -1 }),
        i64('offset', '1+', { default: -1 }),
        i32('leaderEpoch', '4+', { default: -1 }),
      ]),
    ]),
  ],
});

export const OffsetForLeaderEpoch = api({
  key: 23,
  name: 'OffsetForLeaderEpoch',
  versions: '2-4',
  flexible: '4+',
  request: [
    i32('replicaId', '3+', { default: -2 }),
    arr('topics', '0+', [
      str('topic', '0+'),
      arr('partitions', '0+', [
        i32('partition', '0+'),
        i32('currentLeaderEpoch', '2+', { default: -1 }),
        i32('leaderEpoch', '0+'),
      ]),
    ]),
  ],
  response: [
    i32('throttleTimeMs', '2+'),
    arr('topics', '0+', [
      str('topic', '0+'),
      arr('partitions', '0+', [
        i16('errorCode', '0+'),
        i32('partition', '0+'),
        i32('leaderEpoch', '1+', { default: -1 }),
        i64('endOffset', '0+', { default: -1 }),
      ]),
    ]),
  ],
});

export const InitProducerId = api({
  key: 22,
  name: 'InitProducerId',
  versions: '0-4',
  flexible: '2+',
  request: [
    str('transactionalId', '0+', { nullable: '0+' }),
    i32('transactionTimeoutMs', '0+'),
    i64('producerId', '3+', { default: -1 }),
    i16('producerEpoch', '3+', { default: -1 }),
  ],
  response: [
    i32('throttleTimeMs', '0+'),
    i16('errorCode', '0+'),
    i64('producerId', '0+', { default: -1 }),
    i16('producerEpoch', '0+'),
  ],
});
