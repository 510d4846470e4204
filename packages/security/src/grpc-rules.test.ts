import { Authorizer, Guard, parseAclBinding } from '@strand/auth';
import { AuthorizationFailedError, ErrorCode, protoDefinition } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { ruleOf } from './call-rules.js';
import { fetchChecks, grpcRules, keysOf, kvStreamChecks, txnChecks } from './grpc-rules.js';
import { peerHost } from './node-security.js';

const b = (s: string) => Buffer.from(s);
const none = Buffer.alloc(0);
const alice = { principal: 'User:alice', host: '127.0.0.1' };

function guard(acls: unknown[]): Guard {
  const a = new Authorizer({ superUsers: ['User:node'], allowEveryoneIfNoAclFound: false });
  a.setAcls(acls.map(parseAclBinding));
  return new Guard(a);
}
const kvAllow = (name: string, operation: string, patternType = 'prefixed') => ({
  resourceType: 'kv',
  patternType,
  name,
  principal: 'User:alice',
  operation,
  permission: 'allow',
});

describe('the gRPC rule table', () => {
  it('has a rule for every method of every service (a method without one is refused)', () => {
    const rules = grpcRules();
    const paths = (['kv.proto', 'broker.proto', 'group.proto', 'security.proto'] as const)
      .flatMap((file) => Object.values(protoDefinition(file)))
      .filter((def) => !('format' in def))
      .flatMap((service) => Object.values(service as Record<string, { path: string }>))
      .map((m) => m.path);
    expect(paths.length).toBeGreaterThan(50);
    const missing = paths.filter((p) => !ruleOf(rules, p));
    expect(missing).toEqual([]);
    expect(ruleOf(rules, '/strand.kv.v1.KV/Nope')).toBeUndefined();
  });

  it('names the keys of a KV request: one key, a prefix, or a range', () => {
    expect(keysOf({ key: b('a'), range_end: none, prefix: false })).toEqual({
      start: b('a'),
      end: b('a\0'),
    });
    expect(keysOf({ key: b('a/'), range_end: none, prefix: true })).toEqual({
      start: b('a/'),
      end: b('a0'),
    });
    expect(keysOf({ key: b('a'), range_end: b('c'), prefix: false })).toEqual({
      start: b('a'),
      end: b('c'),
    });
  });

  it('a txn needs read on what it compares and reads, write on what either branch writes', () => {
    const txn = {
      compare: [{ key: b('app/x') }],
      success: [{ request: 'put', put: { key: b('app/mine/y') } }],
      failure: [{ request: 'range', range: { key: b('other/'), range_end: none, prefix: true } }],
    };
    const checks = txnChecks(txn);
    expect(checks.map((c) => c.kind)).toEqual(['kvRead', 'kvWrite', 'kvRead']);
    const g = guard([kvAllow('app/', 'read'), kvAllow('app/mine/', 'write')]);
    expect(() => g.requireAll(alice, checks)).toThrow(/may not read keys "other\/\*"/);
    const g2 = guard([
      kvAllow('app/', 'read'),
      kvAllow('app/mine/', 'write'),
      kvAllow('other/', 'read'),
    ]);
    expect(() => g2.requireAll(alice, checks)).not.toThrow();
    expect(kvStreamChecks({ request: 'txn', txn })).toEqual(checks);
    expect(kvStreamChecks({ request: 'put', put: { key: b('k') } })[0]?.kind).toBe('kvWrite');
  });

  it('a follower fetch is cluster-action; a consumer fetch is read on each topic once', () => {
    const fetch = ruleOf(grpcRules(), '/strand.broker.v1.Broker/Fetch')!;
    const parts = [{ topic: 't' }, { topic: 't' }, { topic: 'u' }];
    expect(fetch.checks!({ replica_id: 2, partitions: parts })).toEqual([
      { kind: 'followerFetch', type: 'cluster', name: 'kafka-cluster' },
    ]);
    expect(fetch.checks!({ replica_id: 0, partitions: parts })).toEqual([
      { kind: 'fetch', type: 'topic', name: 't' },
      { kind: 'fetch', type: 'topic', name: 'u' },
    ]);
  });

  it("a FetchStream's messages are each checked by its handler, as a Fetch is", () => {
    const stream = ruleOf(grpcRules(), '/strand.broker.v1.Broker/FetchStream')!;
    expect(stream.perMessage).toBe(true);
    expect(stream.checks).toBeUndefined();
    const fetch = ruleOf(grpcRules(), '/strand.broker.v1.Broker/Fetch')!;
    for (const r of [
      { replica_id: 3, partitions: [{ topic: 't' }] },
      { replica_id: 0, partitions: [{ topic: 't' }, { topic: 'u' }] },
    ])
      expect(fetchChecks(r)).toEqual(fetch.checks!(r));
    const g = guard([
      {
        resourceType: 'topic',
        name: 't',
        principal: 'User:alice',
        operation: 'read',
        permission: 'allow',
      },
    ]);
    expect(() =>
      g.requireAll(alice, fetchChecks({ replica_id: 0, partitions: [{ topic: 't' }] })),
    ).not.toThrow();
    expect(() =>
      g.requireAll(alice, fetchChecks({ replica_id: 0, partitions: [{ topic: 'u' }] })),
    ).toThrow(/topic "u"/);
    expect(() =>
      g.requireAll(alice, fetchChecks({ replica_id: 2, partitions: [{ topic: 't' }] })),
    ).toThrow(AuthorizationFailedError);
  });

  it('Metadata hides topics one may not describe from a listing, and refuses them by name', () => {
    const metadata = ruleOf(grpcRules(), '/strand.broker.v1.Broker/Metadata')!;
    const g = guard([
      {
        resourceType: 'topic',
        name: 'a',
        principal: 'User:alice',
        operation: 'read',
        permission: 'allow',
      },
    ]);
    const may = (c: Parameters<Guard['permits']>[1]) => g.permits(alice, c);
    const res = { topics: [{ name: 'a' }, { name: 'b' }], revision: 3 };
    expect(metadata.filter!(res, { topics: [] }, may)).toEqual({
      topics: [{ name: 'a' }],
      revision: 3,
    });
    const named = metadata.filter!(res, { topics: ['a', 'b'] }, may) as {
      topics: { error?: { code: string } }[];
    };
    expect(named.topics[1]?.error?.code).toBe(ErrorCode.TopicAuthorizationFailed);
  });

  it('AlterTopic needs alter-configs for configs, alter for more partitions', () => {
    const alter = ruleOf(grpcRules(), '/strand.broker.v1.Broker/AlterTopic')!;
    const kinds = (r: object) =>
      alter.checks!({ name: 't', set_configs: {}, delete_configs: [], partitions: 0, ...r }).map(
        (c) => c.kind,
      );
    expect(kinds({ set_configs: { 'retention.ms': '1' } })).toEqual(['alterConfigs']);
    expect(kinds({ partitions: 4 })).toEqual(['createPartitions']);
    expect(kinds({ partitions: 4, delete_configs: ['x'] })).toEqual([
      'createPartitions',
      'alterConfigs',
    ]);
  });

  it('revoking a lease needs write on every key attached to it', () => {
    const revoke = ruleOf(
      grpcRules({
        leaseKeys: (id) => (id === 7 ? [b('app/a'), b('secret/b')] : []),
        leaseOwner: (id) => (id === 7 ? alice.principal : undefined),
      }),
      '/strand.kv.v1.Lease/LeaseRevoke',
    )!;
    const g = guard([kvAllow('app/', 'write')]);
    expect(() => g.requireAll(alice, revoke.checks!({ id: 1 }))).not.toThrow();
    expect(() => g.requireAll(alice, revoke.checks!({ id: 7 }))).toThrow(AuthorizationFailedError);
  });

  it("keeping a lease alive, revoking it or putting with it is its granter's alone", () => {
    const ctx = {
      leaseKeys: () => [],
      leaseOwner: (id: number) => ({ 7: alice.principal, 8: '' })[id],
    };
    const rules = grpcRules(ctx);
    const bob = { principal: 'User:bob', host: '127.0.0.1' };
    const g = guard([
      kvAllow('app/', 'write'),
      { ...kvAllow('app/', 'write'), principal: bob.principal },
    ]);
    const checks = (method: string, req: unknown) => ruleOf(rules, method)!.checks!(req);
    const uses = [
      checks('/strand.kv.v1.Lease/LeaseKeepAlive', { id: 7 }),
      checks('/strand.kv.v1.Lease/LeaseRevoke', { id: 7 }),
      checks('/strand.kv.v1.KV/Put', { key: b('app/x'), lease: 7 }),
      checks('/strand.kv.v1.KV/Txn', {
        compare: [],
        success: [{ request: 'put', put: { key: b('app/x'), lease: 7 } }],
        failure: [],
      }),
      kvStreamChecks({ request: 'put', put: { key: b('app/x'), lease: 7 } }, ctx),
    ];
    for (const c of uses) {
      expect(() => g.requireAll(alice, c)).not.toThrow();
      expect(() => g.requireAll(bob, c)).toThrow(/User:bob may not use lease 7/);
    }
    // A lease without an owner (granted without authentication) is no user's; an unknown one
    // is left to the handler (LEASE_NOT_FOUND).
    expect(() =>
      g.requireAll(alice, checks('/strand.kv.v1.Lease/LeaseKeepAlive', { id: 8 })),
    ).toThrow(/granted without authentication/);
    expect(() =>
      g.requireAll(bob, checks('/strand.kv.v1.Lease/LeaseKeepAlive', { id: 9 })),
    ).not.toThrow();
  });
});

describe('peerHost', () => {
  it('is the address of a grpc-js peer, without its port', () => {
    expect(peerHost('127.0.0.1:5000')).toBe('127.0.0.1');
    expect(peerHost('::ffff:10.0.0.1:5000')).toBe('10.0.0.1');
    expect(peerHost('[::1]:5000')).toBe('::1');
    expect(peerHost('::1:5000')).toBe('::1');
  });
});
