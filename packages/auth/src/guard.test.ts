import { AuthorizationFailedError, ErrorCode } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { ANONYMOUS, parseAclBinding } from './acl.js';
import { Authorizer } from './authorizer.js';
import { Guard, onLease } from './guard.js';
import { prefixRange } from './key-ranges.js';
import { REQUIREMENTS, type RequestKind, resourcesOf } from './requirements.js';

const alice = { principal: 'User:alice', host: '127.0.0.1' };

function guard(acls: unknown[]): Guard {
  const a = new Authorizer({ superUsers: ['User:admin'], allowEveryoneIfNoAclFound: false });
  a.setAcls(acls.map(parseAclBinding));
  return new Guard(a);
}

describe('Guard', () => {
  it('without an authorizer, everything is allowed', () => {
    expect(new Guard(undefined).allowed(alice, 'deleteTopic', 'topic', 'x')).toBe(true);
  });

  it('throws the resource type’s error, naming what was needed', () => {
    const g = guard([]);
    const codeOf = (f: () => void) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(AuthorizationFailedError);
        return (err as AuthorizationFailedError).code;
      }
      return undefined;
    };
    expect(codeOf(() => g.require(alice, 'produce', 'topic', 'orders'))).toBe(
      ErrorCode.TopicAuthorizationFailed,
    );
    expect(codeOf(() => g.require(alice, 'joinGroup', 'group', 'g'))).toBe(
      ErrorCode.GroupAuthorizationFailed,
    );
    expect(codeOf(() => g.requireCluster(alice, 'alterAcls'))).toBe(
      ErrorCode.ClusterAuthorizationFailed,
    );
    expect(
      codeOf(() => g.requireKeys(alice, 'kvRead', prefixRange(Buffer.from('a/')), 'a/*')),
    ).toBe(ErrorCode.KeyAuthorizationFailed);
    expect(() => g.require(alice, 'produce', 'topic', 'orders')).toThrow(
      'User:alice may not write topic "orders"',
    );
  });

  it('CreateTopics: create on the topic, or on the cluster', () => {
    expect(
      guard([
        {
          resourceType: 'topic',
          name: 'new',
          principal: 'User:alice',
          operation: 'create',
          permission: 'allow',
        },
      ]).allowed(alice, 'createTopic', 'topic', 'new'),
    ).toBe(true);
    expect(
      guard([
        {
          resourceType: 'cluster',
          name: 'kafka-cluster',
          principal: 'User:alice',
          operation: 'create',
          permission: 'allow',
        },
      ]).allowed(alice, 'createTopic', 'topic', 'any'),
    ).toBe(true);
    expect(guard([]).allowed(alice, 'createTopic', 'topic', 'any')).toBe(false);
  });

  it('InitProducerId: idempotent-write on the cluster, or write on any topic', () => {
    expect(guard([]).allowedCluster(alice, 'initProducerId')).toBe(false);
    expect(
      guard([
        {
          resourceType: 'topic',
          name: 't',
          principal: 'User:alice',
          operation: 'write',
          permission: 'allow',
        },
      ]).allowedCluster(alice, 'initProducerId'),
    ).toBe(true);
  });

  it('open requests need nothing; leases need someone authenticated', () => {
    const g = guard([]);
    expect(g.allowedCluster({ principal: ANONYMOUS, host: 'x' }, 'authenticate')).toBe(true);
    expect(g.allowedCluster({ principal: ANONYMOUS, host: 'x' }, 'kvLease')).toBe(false);
    expect(g.allowedCluster(alice, 'kvLease')).toBe(true);
  });

  it("a lease is its granter's: others are refused using it, super users are not", () => {
    const g = guard([]);
    const bob = { principal: 'User:bob', host: '127.0.0.1' };
    const admin = { principal: 'User:admin', host: '127.0.0.1' };
    expect(() => g.requireAll(alice, [onLease(7, 'User:alice')])).not.toThrow();
    expect(() => g.requireAll(admin, [onLease(7, 'User:alice')])).not.toThrow();
    expect(() => g.requireAll(bob, [onLease(7, 'User:alice')])).toThrow(
      /User:bob may not use lease 7: only User:alice, who granted it, may/,
    );
    // One granted without authentication belongs to no one.
    expect(g.permits(alice, onLease(8, ''))).toBe(false);
    expect(g.permits(admin, onLease(8, ''))).toBe(true);
    expect(new Guard(undefined).permits(bob, onLease(7, 'User:alice'))).toBe(true);
  });

  it('asking a request about a resource it does not check is a bug, not a pass', () => {
    expect(() => guard([]).allowed(alice, 'produce', 'group', 'g')).toThrow(/not checked/);
  });

  it('every request names what it checks', () => {
    for (const kind of Object.keys(REQUIREMENTS) as RequestKind[]) {
      const r = REQUIREMENTS[kind] as { open?: true; authenticated?: true };
      expect(resourcesOf(kind).length > 0 || r.open || r.authenticated).toBeTruthy();
    }
  });
});
