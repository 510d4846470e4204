import { api, arr, i8, i16, i32, str } from '../schema.js';

// ACL administration (KIP-140 and KIP-290's pattern types). v0 has no pattern type (literal);
// v2+ are flexible; v3 only lets USER resources exist, which Strand does not have.

/** Kafka's resource type codes (ResourceType). */
export const AclResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

/** Kafka's pattern type codes (PatternType): ANY and MATCH are for filters only. */
export const AclPatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

/** Kafka's operation codes (AclOperation): ANY is for filters only. */
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;

/** Kafka's permission type codes (AclPermissionType): ANY is for filters only. */
export const AclPermissionType = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** What DescribeAcls and DeleteAcls select by (an AclBindingFilter); null names match any. */
const filterFields = [
  i8('resourceTypeFilter', '0+'),
  str('resourceNameFilter', '0+', { nullable: '0+' }),
  i8('patternTypeFilter', '1+', { default: AclPatternType.LITERAL }),
  str('principalFilter', '0+', { nullable: '0+' }),
  str('hostFilter', '0+', { nullable: '0+' }),
  i8('operation', '0+'),
  i8('permissionType', '0+'),
] as const;

export const DescribeAcls = api({
  key: 29,
  name: 'DescribeAcls',
  versions: '0-3',
  flexible: '2+',
  request: filterFields,
  response: [
    i32('throttleTimeMs', '0+'),
    i16('errorCode', '0+'),
    str('errorMessage', '0+', { nullable: '0+' }),
    arr('resources', '0+', [
      i8('resourceType', '0+'),
      str('resourceName', '0+'),
      i8('patternType', '1+', { default: AclPatternType.LITERAL }),
      arr('acls', '0+', [
        str('principal', '0+'),
        str('host', '0+'),
        i8('operation', '0+'),
        i8('permissionType', '0+'),
      ]),
    ]),
  ],
});

export const CreateAcls = api({
  key: 30,
  name: 'CreateAcls',
  versions: '0-3',
  flexible: '2+',
  request: [
    arr('creations', '0+', [
      i8('resourceType', '0+'),
      str('resourceName', '0+'),
      i8('resourcePatternType', '1+', { default: AclPatternType.LITERAL }),
      str('principal', '0+'),
      str('host', '0+'),
      i8('operation', '0+'),
      i8('permissionType', '0+'),
    ]),
  ],
  response: [
    i32('throttleTimeMs', '0+'),
    arr('results', '0+', [i16('errorCode', '0+'), str('errorMessage', '0+', { nullable: '0+' })]),
  ],
});

export const DeleteAcls = api({
  key: 31,
  name: 'DeleteAcls',
  versions: '0-3',
  flexible: '2+',
  request: [arr('filters', '0+', filterFields)],
  response: [
    i32('throttleTimeMs', '0+'),
    arr('filterResults', '0+', [
      i16('errorCode', '0+'),
      str('errorMessage', '0+', { nullable: '0+' }),
      arr('matchingAcls', '0+', [
        i16('errorCode', '0+'),
        str('errorMessage', '0+', { nullable: '0+' }),
        i8('resourceType', '0+'),
        str('resourceName', '0+'),
        i8('patternType', '1+', { default: AclPatternType.LITERAL }),
        str('principal', '0+'),
        str('host', '0+'),
        i8('operation', '0+'),
        i8('permissionType', '0+'),
      ]),
    ]),
  ],
});
