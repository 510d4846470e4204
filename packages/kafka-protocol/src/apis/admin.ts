import { api, arr, bool, i8, i16, i32, list, str, uuid } from '../schema.js';

// Topic and cluster administration.

export const CreateTopics = api({
  key: 19,
  name: 'CreateTopics',
  versions: '0-7',
  flexible: '5+',
  request: [
    arr('topics', '0+', [
      str('name', '0+'),
      i32('numPartitions', '0+'),
      i16('replicationFactor', '0+'),
      arr('assignments', '0+', [i32('partitionIndex', '0+'), list('brokerIds', '0+', 'int32')]),
      arr('configs', '0+', [str('name', '0+'), str('value', '0+', { nullable: '0+' })]),
    ]),
    i32('timeoutMs', '0+', { default: 60000 }),
    bool('validateOnly', '1+'),
  ],
  response: [
    i32('throttleTimeMs', '2+'),
    arr('topics', '0+', [
      str('name', '0+'),
      uuid('topicId', '7+'),
      i16('errorCode', '0+'),
      str('errorMessage', '1+', { nullable: '0+' }),
      i16('topicConfigErrorCode', '5+', { tag: 0 }),
      i32('numPartitions', '5+', { default: -1 }),
      i16('replicationFactor', '5+', { default: -1 }),
      arr(
        'configs',
        '5+',
        [
          str('name', '5+'),
          str('value', '5+', { nullable: '5+' }),
          bool('readOnly', '5+'),
          i8('configSource', '5+', { default: -1 }),
          bool('isSensitive', '5+'),
        ],
        { nullable: '5+' },
      ),
    ]),
  ],
});

export const DeleteTopics = api({
  key: 20,
  name: 'DeleteTopics',
  versions: '0-6',
  flexible: '4+',
  request: [
    arr('topics', '6+', [str('name', '6+', { nullable: '6+' }), uuid('topicId', '6+')]),
    list('topicNames', '0-5', 'string'),
    i32('timeoutMs', '0+'),
  ],
  response: [
    i32('throttleTimeMs', '1+'),
    arr('responses', '0+', [
      str('name', '0+', { nullable: '6+' }),
      uuid('topicId', '6+'),
      i16('errorCode', '0+'),
      str('errorMessage', '5+', { nullable: '5+' }),
    ]),
  ],
});

export const CreatePartitions = api({
  key: 37,
  name: 'CreatePartitions',
  versions: '0-3',
  flexible: '2+',
  request: [
    arr('topics', '0+', [
      str('name', '0+'),
      i32('count', '0+'),
      arr('assignments', '0+', [list('brokerIds', '0+', 'int32')], { nullable: '0+' }),
    ]),
    i32('timeoutMs', '0+'),
    bool('validateOnly', '0+'),
  ],
  response: [
    i32('throttleTimeMs', '0+'),
    arr('results', '0+', [
      str('name', '0+'),
      i16('errorCode', '0+'),
      str('errorMessage', '0+', { nullable: '0+' }),
    ]),
  ],
});

export const DescribeConfigs = api({
  key: 32,
  name: 'DescribeConfigs',
  versions: '0-4',
  flexible: '4+',
  request: [
    arr('resources', '0+', [
      i8('resourceType', '0+'),
      str('resourceName', '0+'),
      list('configurationKeys', '0+', 'string', { nullable: '0+' }),
    ]),
    bool('includeSynonyms', '1+'),
    bool('includeDocumentation', '3+'),
  ],
  response: [
    i32('throttleTimeMs', '0+'),
    arr('results', '0+', [
      i16('errorCode', '0+'),
      str('errorMessage', '0+', { nullable: '0+' }),
      i8('resourceType', '0+'),
      str('resourceName', '0+'),
      arr('configs', '0+', [
        str('name', '0+'),
        str('value', '0+', { nullable: '0+' }),
        bool('readOnly', '0+'),
        bool('isDefault', '0'),
        i8('configSource', '1+', { default: -1 }),
        bool('isSensitive', '0+'),
        arr('synonyms', '1+', [
          str('name', '1+'),
          str('value', '1+', { nullable: '0+' }),
          i8('source', '1+'),
        ]),
        i8('configType', '3+'),
        str('documentation', '3+', { nullable: '0+' }),
      ]),
    ]),
  ],
});

export const IncrementalAlterConfigs = api({
  key: 44,
  name: 'IncrementalAlterConfigs',
  versions: '0-1',
  flexible: '1+',
  request: [
    arr('resources', '0+', [
      i8('resourceType', '0+'),
      str('resourceName', '0+'),
      arr('configs', '0+', [
        str('name', '0+'),
        i8('configOperation', '0+'),
        str('value', '0+', { nullable: '0+' }),
      ]),
    ]),
    bool('validateOnly', '0+'),
  ],
  response: [
    i32('throttleTimeMs', '0+'),
    arr('responses', '0+', [
      i16('errorCode', '0+'),
      str('errorMessage', '0+', { nullable: '0+' }),
      i8('resourceType', '0+'),
      str('resourceName', '0+'),
    ]),
  ],
});

export const DescribeCluster = api({
  key: 60,
  name: 'DescribeCluster',
  versions: '0-1',
  flexible: '0+',
  request: [
    bool('includeClusterAuthorizedOperations', '0+'),
    i8('endpointType', '1+', { default: 1 }),
  ],
  response: [
    i32('throttleTimeMs', '0+'),
    i16('errorCode', '0+'),
    str('errorMessage', '0+', { nullable: '0+' }),
    i8('endpointType', '1+', { default: 1 }),
    str('clusterId', '0+'),
    i32('controllerId', '0+', { default: -1 }),
    arr('brokers', '0+', [
      i32('brokerId', '0+'),
      str('host', '0+'),
      i32('port', '0+'),
      str('rack', '0+', { nullable: '0+' }),
    ]),
    i32('clusterAuthorizedOperations', '0+', { default: -2147483648 }),
  ],
});
