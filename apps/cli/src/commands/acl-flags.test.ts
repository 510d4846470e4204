import { describe, expect, it } from 'vitest';
import { bindingsOf, filtersOf, operationText } from './acl-flags.js';

describe('strand acl flags', () => {
  it('take Kafka’s spellings of operations', () => {
    expect(operationText.parse('Read')).toBe('read');
    expect(operationText.parse('DescribeConfigs')).toBe('describe-configs');
    expect(operationText.parse('CLUSTER_ACTION')).toBe('cluster-action');
    expect(operationText.parse('idempotent-write')).toBe('idempotent-write');
    expect(() => operationText.parse('fly')).toThrow(/must be one of/);
  });

  it('add: one binding per principal, host, operation and resource', () => {
    const b = bindingsOf({
      'allow-principal': ['User:a'],
      'deny-principal': ['User:b'],
      operation: ['read', 'describe'],
      topic: ['orders.'],
      'resource-pattern-type': 'prefixed',
      cluster: false,
      'kv-prefix': ['app/', '*'],
    });
    expect(b).toHaveLength(2 * 2 * 3);
    expect(b[0]).toEqual({
      resourceType: 'topic',
      name: 'orders.',
      patternType: 'prefixed',
      host: '*',
      operation: 'read',
      principal: 'User:a',
      permission: 'allow',
    });
    // A kv prefix is a prefix; "*" is every key.
    expect(b.filter((x) => x.resourceType === 'kv').map((x) => x.patternType)).toContain('literal');
    expect(() => bindingsOf({ cluster: true, operation: ['alter'] })).toThrow(/--allow-principal/);
    expect(() =>
      bindingsOf({ cluster: false, 'allow-principal': ['User:a'], operation: ['read'] }),
    ).toThrow(/--topic/);
    expect(() =>
      bindingsOf({
        cluster: true,
        'allow-principal': ['User:a'],
        operation: ['alter'],
        'resource-pattern-type': 'match',
      }),
    ).toThrow(/list or remove/);
  });

  it('list and remove: a filter per combination given; nothing given matches every ACL', () => {
    expect(filtersOf({ cluster: false })).toEqual([{}]);
    expect(filtersOf({ cluster: false, principal: ['User:a'], topic: ['t'] })).toEqual([
      { principal: 'User:a', resourceType: 'topic', name: 't', patternType: 'literal' },
    ]);
    expect(filtersOf({ cluster: false, topic: ['t'], 'resource-pattern-type': 'any' })).toEqual([
      { resourceType: 'topic', name: 't' },
    ]);
    expect(
      filtersOf({ cluster: false, 'deny-principal': ['User:b'], operation: ['write', 'read'] }),
    ).toEqual([
      { principal: 'User:b', permission: 'deny', operation: 'write' },
      { principal: 'User:b', permission: 'deny', operation: 'read' },
    ]);
  });
});
