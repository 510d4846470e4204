import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AclBinding, CLUSTER_NAME, type Operation, parseAclBinding } from './acl.js';
import { Authorizer, type Session } from './authorizer.js';
import { afterPrefix, type KeyRange, keyRange, prefixRange, rangeOfAcl } from './key-ranges.js';

const alice: Session = { principal: 'User:alice', host: '10.0.0.1' };
const bob: Session = { principal: 'User:bob', host: '10.0.0.2' };

const acl = (b: Partial<AclBinding> & Pick<AclBinding, 'operation' | 'permission'>): AclBinding =>
  parseAclBinding({ resourceType: 'topic', name: 'orders', principal: 'User:alice', ...b });

function authorizer(
  acls: AclBinding[],
  opts: Partial<ConstructorParameters<typeof Authorizer>[0]> = {},
) {
  const a = new Authorizer({
    superUsers: ['User:admin'],
    allowEveryoneIfNoAclFound: false,
    ...opts,
  });
  a.setAcls(acls);
  return a;
}

describe('Authorizer: Kafka’s rules', () => {
  it('no ACL means no access; allow.everyone.if.no.acl.found opens what no ACL names', () => {
    expect(authorizer([]).authorize(alice, 'topic', 'orders', 'read')).toBe(false);
    const open = authorizer([acl({ name: 'other', operation: 'read', permission: 'allow' })], {
      allowEveryoneIfNoAclFound: true,
    });
    expect(open.authorize(alice, 'topic', 'orders', 'read')).toBe(true);
    // A resource that some ACL names is closed to everyone else, even with the flag.
    expect(open.authorize(alice, 'topic', 'other', 'write')).toBe(false);
    expect(open.authorize(bob, 'topic', 'other', 'read')).toBe(false);
  });

  it('super users may do anything', () => {
    const a = authorizer([acl({ principal: 'User:admin', operation: 'all', permission: 'deny' })]);
    expect(
      a.authorize({ principal: 'User:admin', host: '1.2.3.4' }, 'topic', 'orders', 'delete'),
    ).toBe(true);
  });

  it('literal, prefixed and wildcard patterns', () => {
    const a = authorizer([
      acl({ name: 'orders', operation: 'read', permission: 'allow' }),
      acl({ name: 'pay-', patternType: 'prefixed', operation: 'write', permission: 'allow' }),
      acl({ name: '*', operation: 'describe', permission: 'allow', principal: 'User:*' }),
    ]);
    expect(a.authorize(alice, 'topic', 'orders', 'read')).toBe(true);
    expect(a.authorize(alice, 'topic', 'orders2', 'read')).toBe(false);
    expect(a.authorize(alice, 'topic', 'pay-eu', 'write')).toBe(true);
    expect(a.authorize(alice, 'topic', 'pay', 'write')).toBe(false);
    expect(a.authorize(bob, 'topic', 'anything', 'describe')).toBe(true);
    expect(a.authorize(bob, 'topic', 'anything', 'read')).toBe(false);
  });

  it('a deny wins over any allow, and `all` covers every operation', () => {
    const a = authorizer([
      acl({ name: '*', operation: 'all', permission: 'allow' }),
      acl({ name: 'secret-', patternType: 'prefixed', operation: 'read', permission: 'deny' }),
    ]);
    expect(a.authorize(alice, 'topic', 'orders', 'alter-configs')).toBe(true);
    expect(a.authorize(alice, 'topic', 'secret-plans', 'read')).toBe(false);
    expect(a.authorize(alice, 'topic', 'secret-plans', 'write')).toBe(true);
  });

  it('read, write, delete and alter imply describe; alter-configs implies describe-configs', () => {
    for (const op of ['read', 'write', 'delete', 'alter'] as const) {
      const a = authorizer([acl({ operation: op, permission: 'allow' })]);
      expect(a.authorize(alice, 'topic', 'orders', 'describe')).toBe(true);
      expect(a.authorize(alice, 'topic', 'orders', 'describe-configs')).toBe(false);
    }
    const c = authorizer([acl({ operation: 'alter-configs', permission: 'allow' })]);
    expect(c.authorize(alice, 'topic', 'orders', 'describe-configs')).toBe(true);
    const d = authorizer([acl({ operation: 'describe', permission: 'allow' })]);
    expect(d.authorize(alice, 'topic', 'orders', 'read')).toBe(false);
    // A deny of read does not deny describe (Kafka's: denies are of their operation only).
    const e = authorizer([
      acl({ operation: 'describe', permission: 'allow' }),
      acl({ operation: 'read', permission: 'deny' }),
    ]);
    expect(e.authorize(alice, 'topic', 'orders', 'describe')).toBe(true);
  });

  it('hosts: an ACL for one address does not apply to another', () => {
    const a = authorizer([acl({ operation: 'read', permission: 'allow', host: '10.0.0.1' })]);
    expect(a.authorize(alice, 'topic', 'orders', 'read')).toBe(true);
    expect(a.authorize({ ...alice, host: '10.0.0.9' }, 'topic', 'orders', 'read')).toBe(false);
  });

  it('the cluster resource has one name, whatever is asked', () => {
    const a = authorizer([
      acl({
        resourceType: 'cluster',
        name: CLUSTER_NAME,
        operation: 'create',
        permission: 'allow',
      }),
    ]);
    expect(a.authorize(alice, 'cluster', CLUSTER_NAME, 'create')).toBe(true);
    expect(() =>
      acl({ resourceType: 'cluster', name: 'x', operation: 'create', permission: 'allow' }),
    ).toThrow(/kafka-cluster/);
    expect(() => acl({ resourceType: 'group', operation: 'write', permission: 'allow' })).toThrow(
      /no operation "write"/,
    );
  });

  it('authorizeAny: some topic allows writing, unless a deny covers it', () => {
    const allowOne = acl({ operation: 'write', permission: 'allow' });
    expect(authorizer([allowOne]).authorizeAny(alice, 'topic', 'write')).toBe(true);
    expect(authorizer([allowOne]).authorizeAny(bob, 'topic', 'write')).toBe(false);
    const denyAll = acl({ name: '*', operation: 'write', permission: 'deny' });
    expect(authorizer([allowOne, denyAll]).authorizeAny(alice, 'topic', 'write')).toBe(false);
    const denyPrefix = acl({
      name: 'ord',
      patternType: 'prefixed',
      operation: 'write',
      permission: 'deny',
    });
    expect(authorizer([allowOne, denyPrefix]).authorizeAny(alice, 'topic', 'write')).toBe(false);
  });

  it('a decision follows the ACLs when they change (the cache is dropped)', () => {
    const a = authorizer([]);
    expect(a.authorize(alice, 'topic', 'orders', 'read')).toBe(false);
    a.setAcls([acl({ operation: 'read', permission: 'allow' })]);
    expect(a.authorize(alice, 'topic', 'orders', 'read')).toBe(true);
    a.setAcls([]);
    expect(a.authorize(alice, 'topic', 'orders', 'read')).toBe(false);
  });
});

const ops = fc.constantFrom<Operation>(
  'all',
  'read',
  'write',
  'delete',
  'alter',
  'describe',
  'describe-configs',
  'alter-configs',
  'create',
);
const names = fc.constantFrom('a', 'ab', 'abc', 'b', '*');
const principals = fc.constantFrom('User:alice', 'User:bob', 'User:*');
const hosts = fc.constantFrom('10.0.0.1', '10.0.0.2', '*');
const bindings = fc
  .record({
    name: names,
    patternType: fc.constantFrom('literal' as const, 'prefixed' as const),
    principal: principals,
    host: hosts,
    operation: ops,
    permission: fc.constantFrom('allow' as const, 'deny' as const),
  })
  .filter((b) => !(b.patternType === 'prefixed' && b.name === '*'))
  .map((b) => parseAclBinding({ resourceType: 'topic', ...b }));
const sessions = fc.record({
  principal: fc.constantFrom('User:alice', 'User:bob'),
  host: fc.constantFrom('10.0.0.1', '10.0.0.2'),
});
const asked = fc.tuple(
  fc.constantFrom('a', 'ab', 'abc', 'abd', 'b', 'c'),
  ops.filter((o) => o !== 'all'),
);

describe('Authorizer: properties', () => {
  it('a matching deny always refuses; adding a deny never grants', () => {
    fc.assert(
      fc.property(
        fc.array(bindings, { maxLength: 8 }),
        sessions,
        asked,
        ops,
        (acls, s, [name, op], denyOp) => {
          const before = authorizer(acls).authorize(s, 'topic', name, op);
          const deny = parseAclBinding({
            resourceType: 'topic',
            name,
            principal: s.principal,
            operation: denyOp,
            permission: 'deny',
          });
          const after = authorizer([...acls, deny]).authorize(s, 'topic', name, op);
          if (denyOp === 'all' || denyOp === op) expect(after).toBe(false);
          if (!before) expect(after).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('adding an allow never refuses; an exact allow grants unless a deny matches', () => {
    fc.assert(
      fc.property(fc.array(bindings, { maxLength: 8 }), sessions, asked, (acls, s, [name, op]) => {
        const before = authorizer(acls).authorize(s, 'topic', name, op);
        const allow = parseAclBinding({
          resourceType: 'topic',
          name,
          principal: s.principal,
          host: s.host,
          operation: op,
          permission: 'allow',
        });
        const after = authorizer([...acls, allow]).authorize(s, 'topic', name, op);
        if (before) expect(after).toBe(true);
        const denied = acls.some(
          (a) =>
            a.permission === 'deny' &&
            (a.operation === 'all' || a.operation === op) &&
            (a.principal === s.principal || a.principal === 'User:*') &&
            (a.host === '*' || a.host === s.host) &&
            (a.patternType === 'prefixed'
              ? name.startsWith(a.name)
              : a.name === '*' || a.name === name),
        );
        expect(after).toBe(!denied);
      }),
      { numRuns: 500 },
    );
  });

  it('ACLs of other principals and other resource types change nothing', () => {
    fc.assert(
      fc.property(
        fc.array(bindings, { maxLength: 8 }),
        asked,
        fc.array(bindings, { maxLength: 4 }),
        (acls, [name, op], noise) => {
          const s: Session = { principal: 'User:carol', host: '10.0.0.3' };
          const others = noise.filter((b) => b.principal !== 'User:*');
          const groupNoise = noise.map((b) => ({
            ...b,
            resourceType: 'group' as const,
            operation: 'read' as const,
          }));
          const withCarol = acls.map((b) => ({
            ...b,
            principal: b.principal === 'User:*' ? b.principal : 'User:carol',
            host: '*',
          }));
          const base = authorizer(withCarol).authorize(s, 'topic', name, op);
          expect(
            authorizer([...withCarol, ...others, ...groupNoise]).authorize(s, 'topic', name, op),
          ).toBe(base);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Authorizer: the KV store’s keys', () => {
  const kv = (
    name: string,
    patternType: 'literal' | 'prefixed',
    operation: 'read' | 'write' | 'all',
    permission: 'allow' | 'deny',
    principal = 'User:alice',
  ) => parseAclBinding({ resourceType: 'kv', name, patternType, operation, permission, principal });
  const b = (s: string) => Buffer.from(s);

  it('a prefix covers its keys and ranges within it; a deny inside refuses the range', () => {
    const a = authorizer([
      kv('app/', 'prefixed', 'read', 'allow'),
      kv('app/secret', 'literal', 'read', 'deny'),
    ]);
    expect(a.authorizeKeys(alice, keyRange(b('app/x')), 'read')).toBe(true);
    expect(a.authorizeKeys(alice, prefixRange(b('app/x/')), 'read')).toBe(true);
    expect(a.authorizeKeys(alice, keyRange(b('app/secret')), 'read')).toBe(false);
    expect(a.authorizeKeys(alice, prefixRange(b('app/')), 'read')).toBe(false);
    expect(a.authorizeKeys(alice, prefixRange(b('ap')), 'read')).toBe(false);
    expect(a.authorizeKeys(alice, keyRange(b('app/x')), 'write')).toBe(false);
    expect(a.authorizeKeys(bob, keyRange(b('app/x')), 'read')).toBe(false);
  });

  it('adjacent allows together cover a range that spans them', () => {
    const a = authorizer([
      kv('a', 'prefixed', 'write', 'allow'),
      kv('b', 'prefixed', 'write', 'allow'),
    ]);
    expect(a.authorizeKeys(alice, { start: b('a'), end: b('c') }, 'write')).toBe(true);
    expect(a.authorizeKeys(alice, { start: b('a'), end: b('c0') }, 'write')).toBe(false);
  });

  it('range checks agree with checking each boundary key one by one', () => {
    const keys = fc.constantFrom('', 'a', 'aa', 'ab', 'b', 'ba', 'c');
    const kvAcl = fc
      .record({
        name: fc.constantFrom('a', 'aa', 'ab', 'b', '*'),
        patternType: fc.constantFrom('literal' as const, 'prefixed' as const),
        operation: fc.constantFrom('read' as const, 'all' as const),
        permission: fc.constantFrom('allow' as const, 'allow' as const, 'deny' as const),
        principal: fc.constantFrom('User:alice', 'User:bob'),
      })
      .filter((x) => !(x.patternType === 'prefixed' && x.name === '*'));
    const ranges = fc.oneof(
      keys.filter(Boolean).map((k) => keyRange(b(k))),
      keys.map((k) => prefixRange(b(k))),
      fc.tuple(keys, keys).map(([x, y]) => ({ start: b(x), end: y ? b(y) : undefined })),
    );
    fc.assert(
      fc.property(fc.array(kvAcl, { maxLength: 6 }), ranges, (raw, range) => {
        const acls = raw.map((x) =>
          kv(x.name, x.patternType, x.operation, x.permission, x.principal),
        );
        const got = authorizer(acls).authorizeKeys(alice, range, 'read');
        expect(got).toBe(oracle(acls, range));
      }),
      { numRuns: 1000 },
    );
  });
});

/**
 * A second way to decide a range: every key where some ACL's range or the asked range starts
 * or ends is a point where coverage can change, so looking at those points alone decides.
 */
function oracle(acls: AclBinding[], range: KeyRange): boolean {
  const inRange = (k: Buffer, r: KeyRange) =>
    Buffer.compare(k, r.start) >= 0 && (r.end === undefined || Buffer.compare(k, r.end) < 0);
  const bounds = [range.start, ...acls.flatMap((a) => [rangeOfAcl(a).start, rangeOfAcl(a).end])]
    .filter((k): k is Buffer => k !== undefined)
    .filter((k) => inRange(k, range));
  const touching = acls.filter((a) => bounds.some((k) => inRange(k, rangeOfAcl(a))));
  // An empty range, or one no ACL touches, is refused (allow.everyone.if.no.acl.found is off).
  if (bounds.length === 0 || touching.length === 0) return false;
  const mine = acls.filter((a) => a.principal === 'User:alice' || a.principal === 'User:*');
  return bounds.every(
    (k) =>
      !mine.some((a) => a.permission === 'deny' && inRange(k, rangeOfAcl(a))) &&
      mine.some((a) => a.permission === 'allow' && inRange(k, rangeOfAcl(a))),
  );
}

it('afterPrefix: the first key past a prefix', () => {
  expect(afterPrefix(Buffer.from('ab'))).toEqual(Buffer.from('ac'));
  expect(afterPrefix(Buffer.from([0x61, 0xff]))).toEqual(Buffer.from('b'));
  expect(afterPrefix(Buffer.from([0xff, 0xff]))).toBeUndefined();
});
