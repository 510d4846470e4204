import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { type AclBindingInput, Admin, Consumer, KvClient, Producer } from '@strand/client';
import type { PkiFiles } from '@strand/security';
import { ProcessRegistry, tempDir } from '@strand/testkit';
import {
  AuthorizationFailedError,
  brokerService,
  ClientTls,
  channelCredentials,
  channelOptions,
  ErrorCode,
} from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SecuredCluster,
  startSecuredCluster,
  type TopicCluster,
} from './cluster.test-util.js';

// Authorization on gRPC: ACLs made through the SDK's Admin, stored in the KV store, reaching
// every broker and the coordinator by watch, and checked on every request (real processes).

const registry = new ProcessRegistry();
const dir = tempDir('strand-acl-');
let cluster: TopicCluster;
let files: PkiFiles;
let admin: Admin;
let tls: SecuredCluster['adminTls'];
const PASSWORD = 'a long enough password';

beforeAll(async () => {
  ({
    cluster,
    files,
    adminTls: tls,
  } = await startSecuredCluster(registry, 2, dir.path, {
    clients: ['streamer'],
  }));
  admin = new Admin({ bootstrap: cluster.bootstrap, tls: adminTls() });
  for (const user of ['reader', 'writer', 'kvuser']) await admin.createUser(user, PASSWORD);
  for (const name of ['orders.a', 'orders.secret', 'payments'])
    await admin.createTopic({ name, partitions: 2, replicationFactor: 2 });
  const producer = new Producer({ bootstrap: cluster.bootstrap, tls: adminTls() });
  for (const topic of ['orders.a', 'orders.secret', 'payments'])
    await producer.send({ topic, value: `in ${topic}`, partition: 0 });
  await producer.close();
});
afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
  dir.cleanup();
});

const read = (p: string) => readFileSync(p);
const adminTls = () => tls;
const credentials = (username: string) => ({
  tls: { ca: read(files.ca) },
  sasl: { username, password: PASSWORD },
  retries: 0,
});
const as = (username: string) => ({ bootstrap: cluster.bootstrap, ...credentials(username) });

const allow = (principal: string, b: Omit<AclBindingInput, 'principal' | 'permission'>) => ({
  ...b,
  principal,
  permission: 'allow' as const,
});

/** The error `fn` fails with (undefined if it does not). */
const failure = (fn: () => Promise<unknown>) =>
  fn().then(
    () => undefined,
    (e: unknown) => e,
  );

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function consumeOne(consumer: Consumer, topic: string): Promise<string> {
  consumer.assign([{ topic, partition: 0, offset: 0 }]);
  return until(`a record of ${topic}`, async () => {
    const records = await consumer.poll(500);
    return records[0] ? String(records[0].value) : undefined;
  });
}

function expectDenied(err: unknown, code: string): void {
  expect(err).toBeInstanceOf(AuthorizationFailedError);
  expect((err as AuthorizationFailedError).code).toBe(code);
}

describe('ACLs on gRPC', () => {
  it('only ALTER on the cluster manages ACLs; DESCRIBE lists them; delete by filter answers what it removed', async () => {
    const reader = new Admin(as('reader'));
    const binding = allow('User:reader', { resourceType: 'topic', name: 'x', operation: 'read' });
    expectDenied(
      await failure(() => reader.createAcls([binding])),
      ErrorCode.ClusterAuthorizationFailed,
    );
    expectDenied(await failure(() => reader.describeAcls()), ErrorCode.ClusterAuthorizationFailed);
    expect(await admin.describeAcls({ principal: 'User:reader' })).toEqual([]);

    const created = await admin.createAcls([
      binding,
      binding,
      allow('User:reader', {
        resourceType: 'cluster',
        name: 'kafka-cluster',
        operation: 'describe',
      }),
    ]);
    expect(created[0]).toEqual({ ...binding, patternType: 'literal', host: '*' });
    // The same binding twice is kept once; describe sees it on the next call (any node).
    await until('reader to list ACLs', async () =>
      (await reader.describeAcls().catch(() => [])).length > 0 ? true : undefined,
    );
    expect(await reader.describeAcls({ resourceType: 'topic' })).toEqual([created[0]]);
    expectDenied(
      await failure(() => reader.deleteAcls({ principal: 'User:reader' })),
      ErrorCode.ClusterAuthorizationFailed,
    );
    const removed = await admin.deleteAcls({ principal: 'User:reader' });
    expect(removed).toHaveLength(2);
    expect(await admin.describeAcls({ principal: 'User:reader' })).toEqual([]);
    await reader.close();
    // A bad binding is refused before any call, with the reason.
    await expect(
      admin.createAcls([allow('User:x', { resourceType: 'group', name: 'g', operation: 'write' })]),
    ).rejects.toThrow(/a group has no operation "write"/);
  });

  it('READ on prefix orders. consumes orders.a, but produces nothing and sees no payments', async () => {
    await admin.createAcls([
      allow('User:reader', {
        resourceType: 'topic',
        name: 'orders.',
        patternType: 'prefixed',
        operation: 'read',
      }),
    ]);
    const consumer = new Consumer(as('reader'));
    expect(
      await until('reader to consume', () =>
        consumeOne(consumer, 'orders.a').catch(() => undefined),
      ),
    ).toBe('in orders.a');
    await consumer.close();

    const producer = new Producer({ ...as('reader'), idempotent: false });
    expectDenied(
      await failure(() => producer.send({ topic: 'orders.a', value: 'no', partition: 0 })),
      ErrorCode.TopicAuthorizationFailed,
    );
    await producer.close().catch(() => undefined);
    // An idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
    const idempotent = new Producer(as('reader'));
    expectDenied(
      await failure(() => idempotent.send({ topic: 'orders.a', value: 'no', partition: 0 })),
      ErrorCode.ClusterAuthorizationFailed,
    );
    await idempotent.close().catch(() => undefined);

    const reader = new Admin(as('reader'));
    const names = (await reader.listTopics()).map((t) => t.name).sort();
    expect(names).toEqual(['orders.a', 'orders.secret']);
    expectDenied(
      await failure(() => reader.describeTopic('payments')),
      ErrorCode.TopicAuthorizationFailed,
    );
    expectDenied(
      await failure(() => reader.deleteTopic('orders.a')),
      ErrorCode.TopicAuthorizationFailed,
    );
    await reader.close();
    // The refusal is logged with who, what and on which resource; nothing was written.
    const logs = [...cluster.brokers.values()].map((b) => b.proc.output()).join('\n');
    expect(logs).toMatch(
      /refused a request .*principal=User:reader .*User:reader may not write topic \\"orders.a\\"/,
    );
    expect(logs).not.toContain(PASSWORD);
    const check = new Consumer({ bootstrap: cluster.bootstrap, tls: adminTls() });
    await check.assignTopic('orders.a', 'beginning');
    const seen = await until('orders.a as the admin sees it', async () => {
      const r = await check.poll(500);
      return r.length > 0 ? r.map((x) => String(x.value)) : undefined;
    });
    expect(seen).toEqual(['in orders.a']);
    await check.close();
    expect((await admin.describeTopic('orders.a')).partitions.length).toBe(2);
  });

  it('FetchStream: each message is authorized on its own — refused alone, the others answered', async () => {
    type Answer = { id: number; error: { code: string } | null; partitions: unknown[] };
    await admin.createAcls([
      allow('User:streamer', { resourceType: 'topic', name: 'orders.a', operation: 'read' }),
    ]);
    // The leader of orders.a-0: another broker would answer NOT_LEADER at once, not long-poll.
    const leader = (await admin.describeTopic('orders.a')).partitions[0]!.leader;
    const address = cluster.brokers.get(leader)!.address;
    const security = {
      tls: new ClientTls({
        ca: read(files.ca),
        cert: read(files.cert('streamer')),
        key: read(files.key('streamer')),
      }),
    };
    const Ctor = brokerService('Broker');
    const client = new Ctor(
      address,
      channelCredentials(security),
      channelOptions(security, address),
    ) as grpc.Client & Record<string, () => grpc.ClientDuplexStream<unknown, Answer>>;
    const round = async () => {
      const stream = client.FetchStream!();
      const answers = new Map<number, Answer>();
      stream.on('data', (a: Answer) => answers.set(a.id, a));
      const status = new Promise<grpc.StatusObject>((r) => stream.on('status', r));
      stream.on('error', () => undefined);
      const at = (topic: string) => [{ topic, partition: 0, offset: 0 }];
      stream.write({ id: 1, partitions: at('orders.a') });
      stream.write({ id: 2, partitions: at('payments') });
      // A follower's fetch needs cluster-action: this principal is no broker.
      stream.write({ id: 3, replica_id: 2, partitions: at('orders.a') });
      stream.end();
      return { code: (await status).code, answers };
    };
    const { code, answers } = await until('the ACL to reach the broker', async () => {
      const r = await round();
      return r.answers.get(1)?.error === null ? r : undefined;
    });
    expect(code).toBe(grpc.status.OK);
    expect(answers.get(1)?.partitions).toHaveLength(1);
    expect(answers.get(2)?.error?.code).toBe(ErrorCode.TopicAuthorizationFailed);
    expect(answers.get(2)?.partitions).toEqual([]);
    expect(answers.get(3)?.error?.code).toBe(ErrorCode.ClusterAuthorizationFailed);

    // A long poll under way when the ACL goes answers refused, not with what it read.
    const stream = client.FetchStream!();
    const answer = new Promise<Answer>((r) => stream.on('data', r));
    stream.on('error', () => undefined);
    stream.write({
      id: 7,
      max_wait_ms: 2500,
      min_bytes: 1,
      partitions: [{ topic: 'orders.a', partition: 0, offset: 1 }],
    });
    await new Promise((r) => setTimeout(r, 200));
    await admin.deleteAcls({ principal: 'User:streamer', name: 'orders.a' });
    const late = await answer;
    stream.end();
    client.close();
    expect(late.id).toBe(7);
    expect(late.error?.code).toBe(ErrorCode.TopicAuthorizationFailed);
  });

  it('a deny beats an allow', async () => {
    await admin.createAcls([
      {
        principal: 'User:reader',
        permission: 'deny',
        resourceType: 'topic',
        name: 'orders.secret',
        operation: 'read',
      },
    ]);
    const consumer = new Consumer(as('reader'));
    const err = await until('the deny to reach the brokers', () =>
      consumeOne(consumer, 'orders.secret').then(
        () => undefined,
        (e: unknown) => (e instanceof AuthorizationFailedError ? e : undefined),
      ),
    );
    expect(err.code).toBe(ErrorCode.TopicAuthorizationFailed);
    await consumer.close();
    const other = new Consumer(as('reader'));
    expect(await consumeOne(other, 'orders.a')).toBe('in orders.a');
    await other.close();
  });

  it('a group ACL gates commits', async () => {
    const consumer = new Consumer({ ...as('reader'), groupId: 'readers' });
    consumer.assign([{ topic: 'orders.a', partition: 0, offset: 0 }]);
    const commit = () => consumer.commit([{ topic: 'orders.a', partition: 0, offset: 1 }]);
    expectDenied(await failure(commit), ErrorCode.GroupAuthorizationFailed);
    expect((await admin.describeGroup('readers').catch(() => undefined))?.offsets ?? []).toEqual(
      [],
    );
    await admin.createAcls([
      allow('User:reader', { resourceType: 'group', name: 'readers', operation: 'read' }),
    ]);
    await until('the group ACL to reach the coordinator', () =>
      commit().then(
        () => true,
        () => undefined,
      ),
    );
    expect(
      (await consumer.committed([{ topic: 'orders.a', partition: 0 }])).get('orders.a\u00000'),
    ).toBe(1);
    // READ on the group is not READ on every topic: payments' offsets stay refused.
    expectDenied(
      await failure(() => consumer.commit([{ topic: 'payments', partition: 0, offset: 1 }])),
      ErrorCode.TopicAuthorizationFailed,
    );
    // Two commits at once travel in one batch call, each authorized alone: one lands, one not.
    const [landed, refused] = await Promise.all([
      failure(() => consumer.commit([{ topic: 'orders.a', partition: 0, offset: 2 }])),
      failure(() => consumer.commit([{ topic: 'payments', partition: 1, offset: 2 }])),
    ]);
    expect(landed).toBeUndefined();
    expectDenied(refused, ErrorCode.TopicAuthorizationFailed);
    expect(
      (await consumer.committed([{ topic: 'orders.a', partition: 0 }])).get('orders.a\u00000'),
    ).toBe(2);
    await consumer.close();
  });

  it('kv prefix ACLs gate get, put, txn and watch', async () => {
    const admKv = new KvClient({ bootstrap: [cluster.coordinator], tls: adminTls() });
    await admKv.put('app/x', '1');
    await admKv.put('other/y', '2');
    await admin.createAcls([
      allow('User:kvuser', {
        resourceType: 'kv',
        name: 'app/',
        patternType: 'prefixed',
        operation: 'read',
      }),
      allow('User:kvuser', {
        resourceType: 'kv',
        name: 'app/mine/',
        patternType: 'prefixed',
        operation: 'write',
      }),
    ]);
    const kv = new KvClient({ bootstrap: [cluster.coordinator], ...credentials('kvuser') });
    expect(
      (
        await until('kvuser to read app/', () => kv.get('app/x').catch(() => undefined))
      )?.value.toString(),
    ).toBe('1');
    const key = ErrorCode.KeyAuthorizationFailed;
    expectDenied(await failure(() => kv.get('other/y')), key);
    expectDenied(await failure(() => kv.range('app')), key);
    expectDenied(await failure(() => kv.put('app/x', 'no')), key);
    await kv.put('app/mine/k', 'v');
    // A txn needs every key it touches, compares included.
    const put = { put: { key: 'app/mine/t', value: 'v' } };
    expectDenied(
      await failure(() =>
        kv.txn([{ key: 'other/y', target: 'version', op: '>', value: 0 }], [put]),
      ),
      key,
    );
    expectDenied(
      await failure(() => kv.txn([], [put], [{ put: { key: 'app/x', value: 'no' } }])),
      key,
    );
    await kv.txn([{ key: 'app/x', target: 'version', op: '>', value: 0 }], [put]);
    expect((await admKv.get('app/x'))?.value.toString()).toBe('1');
    expect(await admKv.get('app/mine/t')).toBeDefined();
    // A compare on a user's record would tell whether the user exists: refused.
    await admin.createAcls([
      allow('User:kvuser', { resourceType: 'kv', name: '*', operation: 'read' }),
    ]);
    await until('the kv * ACL', () => kv.get('other/y').catch(() => undefined));
    expectDenied(
      await failure(() =>
        kv.txn([{ key: '/strand/users/reader', target: 'version', op: '>', value: 0 }], []),
      ),
      key,
    );
    await admin.deleteAcls({ principal: 'User:kvuser', name: '*' });
    // A watch on a range it may not read is refused...
    await until('the kv * ACL to go', () =>
      kv.get('other/y').then(
        () => undefined,
        () => true,
      ),
    );
    const watchErr = await failure(async () => {
      for await (const _ of kv.watch('other/', { prefix: true })) break;
    });
    expectDenied(watchErr, key);
    // ...and one it may, ends once the ACL is revoked.
    const events: string[] = [];
    const watching = failure(async () => {
      for await (const batch of kv.watch('app/', { prefix: true }))
        for (const e of batch) events.push(e.kv.key.toString());
    });
    await until('the watch to see a put', async () => {
      await admKv.put('app/w', String(Date.now()));
      return events.includes('app/w') ? true : undefined;
    });
    await admin.deleteAcls({ principal: 'User:kvuser', resourceType: 'kv', operation: 'read' });
    expectDenied(await watching, key);
    kv.close();
    admKv.close();
  });

  it('revoking an ACL refuses the next request on every broker, and ends an open long poll', async () => {
    await admin.createAcls([
      allow('User:writer', { resourceType: 'topic', name: 'payments', operation: 'write' }),
      allow('User:writer', { resourceType: 'topic', name: 'payments', operation: 'read' }),
    ]);
    const producer = new Producer(as('writer'));
    for (const partition of [0, 1])
      await until(`writer to produce to partition ${partition}`, () =>
        producer.send({ topic: 'payments', value: 'ok', partition }).catch(() => undefined),
      );
    // A consumer waiting at the end of the log in a long poll.
    const consumer = new Consumer({ ...as('writer'), maxWaitMs: 10_000 });
    await consumer.assignTopic('payments', 'end');
    const polling = failure(async () => {
      for (;;) await consumer.poll(10_000);
    });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await admin.deleteAcls({ principal: 'User:writer' });
    for (const partition of [0, 1]) {
      const err = await until(`partition ${partition}'s leader to refuse writer`, () =>
        producer.send({ topic: 'payments', value: 'late', partition }).then(
          () => undefined,
          (e: unknown) => (e instanceof AuthorizationFailedError ? e : undefined),
        ),
      );
      expect(err.code).toBe(ErrorCode.TopicAuthorizationFailed);
    }
    expectDenied(await polling, ErrorCode.TopicAuthorizationFailed);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await consumer.close();
    await producer.close().catch(() => undefined);
  });
});
