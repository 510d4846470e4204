import {
  AclOperation as O,
  AclPatternType as P,
  AclResourceType as R,
} from '@strand/kafka-protocol';
import { InvalidRequestError } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { bindingFromKafka, bindingToKafka, filterFromKafka } from './acl-codes.js';

const creation = {
  resourceType: R.TOPIC,
  resourceName: 'orders.',
  patternType: P.PREFIXED,
  principal: 'User:alice',
  host: '10.0.0.1',
  operation: O.IDEMPOTENT_WRITE,
  permissionType: 2,
};
const any = { resourceNameFilter: null, principalFilter: null, hostFilter: null };

describe("Kafka's ACL codes", () => {
  it('read a creation into a binding and write it back the same', () => {
    const b = bindingFromKafka({
      ...creation,
      resourceType: R.CLUSTER,
      resourceName: 'kafka-cluster',
      patternType: P.LITERAL,
    });
    expect(b).toEqual({
      resourceType: 'cluster',
      patternType: 'literal',
      name: 'kafka-cluster',
      principal: 'User:alice',
      host: '10.0.0.1',
      operation: 'idempotent-write',
      permission: 'deny',
    });
    expect(bindingToKafka({ ...b, resourceType: 'cluster' })).toEqual({
      ...creation,
      resourceType: R.CLUSTER,
      resourceName: 'kafka-cluster',
      patternType: P.LITERAL,
    });
  });

  it('refuse filter-only and unknown codes in a creation with an InvalidRequestError', () => {
    for (const bad of [
      { resourceType: R.ANY },
      { patternType: P.MATCH },
      { operation: 99 },
      { permissionType: 0 },
    ])
      expect(() => bindingFromKafka({ ...creation, ...bad })).toThrow(InvalidRequestError);
  });

  it('read ANY codes and null strings as "any", MATCH as match, and an empty string as no match', () => {
    const all = {
      resourceTypeFilter: R.ANY,
      patternTypeFilter: P.ANY,
      operation: O.ANY,
      permissionType: 1,
    };
    expect(filterFromKafka({ ...all, ...any })).toEqual({});
    expect(
      filterFromKafka({
        ...all,
        ...any,
        patternTypeFilter: P.MATCH,
        resourceNameFilter: 'eu.orders',
      }),
    ).toEqual({ patternType: 'match', name: 'eu.orders' });
    expect(filterFromKafka({ ...all, ...any, principalFilter: '' })).toBeNull();
    expect(() => filterFromKafka({ ...all, ...any, resourceTypeFilter: R.UNKNOWN })).toThrow(
      InvalidRequestError,
    );
  });
});
