import { api, arr, bool, bytes, i8, i16, i32, i64, list, str } from '../schema.js';

// Consumer groups (the classic protocol: client-side assignment) and their committed offsets.

export const FindCoordinator = api({
  key: 10,
  name: 'FindCoordinator',
  versions: '0-4',
  flexible: '3+',
  request: [str('key', '0-3'), i8('keyType', '1+'), list('coordinatorKeys', '4+', 'string')],
  response: [
    i32('throttleTimeMs', '1+'),
    i16('errorCode', '0-3'),
    str('errorMessage', '1-3', { nullable: '1-3' }),
    i32('nodeId', '0-3'),
    str('host', '0-3'),
    i32('port', '0-3'),
    arr('coordinators', '4+', [
      str('key', '4+'),
      i32('nodeId', '4+'),
      str('host', '4+'),
      i32('port', '4+'),
      i16('errorCode', '4+'),
      str('errorMessage', '4+', { nullable: '4+' }),
    ]),
  ],
});

export const JoinGroup = api({
  key: 11,
  name: 'JoinGroup',
  versions: '0-9',
  flexible: '6+',
  request: [
    str('groupId', '0+'),
    i32('sessionTimeoutMs', '0+'),
    i32('rebalanceTimeoutMs', '1+', { default: -1 }),
    str('memberId', '0+'),
    str('groupInstanceId', '5+', { nullable: '5+' }),
    str('protocolType', '0+'),
    arr('protocols', '0+', [str('name', '0+'), bytes('metadata', '0+')]),
    str('reason', '8+', { nullable: '8+' }),
  ],
  response: [
    i32('throttleTimeMs', '2+'),
    i16('errorCode', '0+'),
    i32('generationId', '0+', { default: -1 }),
    str('protocolType', '7+', { nullable: '7+' }),
    str('protocolName', '0+', { nullable: '7+' }),
    str('leader', '0+'),
    bool('skipAssignment', '9+'),
    str('memberId', '0+'),
    arr('members', '0+', [
      str('memberId', '0+'),
      str('groupInstanceId', '5+', { nullable: '5+' }),
      bytes('metadata', '0+'),
    ]),
  ],
});

export const SyncGroup = api({
  key: 14,
  name: 'SyncGroup',
  versions: '0-5',
  flexible: '4+',
  request: [
    str('groupId', '0+'),
    i32('generationId', '0+'),
    str('memberId', '0+'),
    str('groupInstanceId', '3+', { nullable: '3+' }),
    str('protocolType', '5+', { nullable: '5+' }),
    str('protocolName', '5+', { nullable: '5+' }),
    arr('assignments', '0+', [str('memberId', '0+'), bytes('assignment', '0+')]),
  ],
  response: [
    i32('throttleTimeMs', '1+'),
    i16('errorCode', '0+'),
    str('protocolType', '5+', { nullable: '5+' }),
    str('protocolName', '5+', { nullable: '5+' }),
    bytes('assignment', '0+'),
  ],
});

export const Heartbeat = api({
  key: 12,
  name: 'Heartbeat',
  versions: '0-4',
  flexible: '4+',
  request: [
    str('groupId', '0+'),
    i32('generationId', '0+'),
    str('memberId', '0+'),
    str('groupInstanceId', '3+', { nullable: '3+' }),
  ],
  response: [i32('throttleTimeMs', '1+'), i16('errorCode', '0+')],
});

export const LeaveGroup = api({
  key: 13,
  name: 'LeaveGroup',
  versions: '0-5',
  flexible: '4+',
  request: [
    str('groupId', '0+'),
    str('memberId', '0-2'),
    arr('members', '3+', [
      str('memberId', '3+'),
      str('groupInstanceId', '3+', { nullable: '3+' }),
      str('reason', '5+', { nullable: '5+' }),
    ]),
  ],
  response: [
    i32('throttleTimeMs', '1+'),
    i16('errorCode', '0+'),
    arr('members', '3+', [
      str('memberId', '3+'),
      str('groupInstanceId', '3+', { nullable: '3+' }),
      i16('errorCode', '3+'),
    ]),
  ],
});

export const OffsetCommit = api({
  key: 8,
  name: 'OffsetCommit',
  versions: '0-9',
  flexible: '8+',
  request: [
    str('groupId', '0+'),
    i32('generationIdOrMemberEpoch', '1+', { default: -1 }),
    str('memberId', '1+'),
    str('groupInstanceId', '7+', { nullable: '7+' }),
    i64('retentionTimeMs', '2-4', { default: -1 }),
    arr('topics', '0+', [
      str('name', '0+'),
      arr('partitions', '0+', [
        i32('partitionIndex', '0+'),
        i64('committedOffset', '0+'),
        i32('committedLeaderEpoch', '6+', { default: -1 }),
        i64('commitTimestamp', '1', { default: -1 }),
        str('committedMetadata', '0+', { nullable: '0+' }),
      ]),
    ]),
  ],
  response: [
    i32('throttleTimeMs', '3+'),
    arr('topics', '0+', [
      str('name', '0+'),
      arr('partitions', '0+', [i32('partitionIndex', '0+'), i16('errorCode', '0+')]),
    ]),
  ],
});

export const OffsetFetch = api({
  key: 9,
  name: 'OffsetFetch',
  versions: '1-9',
  flexible: '6+',
  request: [
    str('groupId', '0-7'),
    arr('topics', '0-7', [str('name', '0-7'), list('partitionIndexes', '0-7', 'int32')], {
      nullable: '2-7',
    }),
    arr('groups', '8+', [
      str('groupId', '8+'),
      str('memberId', '9+', { nullable: '9+' }),
      i32('memberEpoch', '9+', { default: -1 }),
      arr('topics', '8+', [str('name', '8+'), list('partitionIndexes', '8+', 'int32')], {
        nullable: '8+',
      }),
    ]),
    bool('requireStable', '7+'),
  ],
  response: [
    i32('throttleTimeMs', '3+'),
    arr('topics', '0-7', [
      str('name', '0-7'),
      arr('partitions', '0-7', [
        i32('partitionIndex', '0-7'),
        i64('committedOffset', '0-7'),
        i32('committedLeaderEpoch', '5-7', { default: -1 }),
        str('metadata', '0-7', { nullable: '0-7' }),
        i16('errorCode', '0-7'),
      ]),
    ]),
    i16('errorCode', '2-7'),
    arr('groups', '8+', [
      str('groupId', '8+'),
      arr('topics', '8+', [
        str('name', '8+'),
        arr('partitions', '8+', [
          i32('partitionIndex', '8+'),
          i64('committedOffset', '8+'),
          i32('committedLeaderEpoch', '8+', { default: -1 }),
          str('metadata', '8+', { nullable: '8+' }),
          i16('errorCode', '8+'),
        ]),
      ]),
      i16('errorCode', '8+'),
    ]),
  ],
});

export const ListGroups = api({
  key: 16,
  name: 'ListGroups',
  versions: '0-5',
  flexible: '3+',
  request: [list('statesFilter', '4+', 'string'), list('typesFilter', '5+', 'string')],
  response: [
    i32('throttleTimeMs', '1+'),
    i16('errorCode', '0+'),
    arr('groups', '0+', [
      str('groupId', '0+'),
      str('protocolType', '0+'),
      str('groupState', '4+'),
      str('groupType', '5+'),
    ]),
  ],
});

export const DescribeGroups = api({
  key: 15,
  name: 'DescribeGroups',
  versions: '0-5',
  flexible: '5+',
  request: [list('groups', '0+', 'string'), bool('includeAuthorizedOperations', '3+')],
  response: [
    i32('throttleTimeMs', '1+'),
    arr('groups', '0+', [
      i16('errorCode', '0+'),
      str('groupId', '0+'),
      str('groupState', '0+'),
      str('protocolType', '0+'),
      str('protocolData', '0+'),
      arr('members', '0+', [
        str('memberId', '0+'),
        str('groupInstanceId', '4+', { nullable: '4+' }),
        str('clientId', '0+'),
        str('clientHost', '0+'),
        bytes('memberMetadata', '0+'),
        bytes('memberAssignment', '0+'),
      ]),
      i32('authorizedOperations', '3+', { default: -2147483648 }),
    ]),
  ],
});

export const DeleteGroups = api({
  key: 42,
  name: 'DeleteGroups',
  versions: '0-2',
  flexible: '2+',
  request: [list('groupsNames', '0+', 'string')],
  response: [
    i32('throttleTimeMs', '0+'),
    arr('results', '0+', [str('groupId', '0+'), i16('errorCode', '0+')]),
  ],
});
