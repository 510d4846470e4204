import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { type AclBinding, Admin } from '@strand/client';
import {
  CreateAcls,
  DeleteAcls,
  DescribeAcls,
  KafkaError,
  AclOperation as O,
  AclPatternType as P,
  AclResourceType as R,
  AclPermissionType as T,
} from '@strand/kafka-protocol';
import type { PkiFiles } from '@strand/security';
import { eventually, ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SecuredCluster,
  startSecuredCluster,
  type TopicCluster,
} from '../cluster.test-util.js';
import { RawKafkaClient, rawScram, run, tool } from './client.test-util.js';
import { kafkajs } from './kafkajs.test-util.js';

/**
 * Kafka's CreateAcls, DescribeAcls and DeleteAcls on secured brokers (SASL_SSL, SCRAM users):
 * KafkaJS 2.2.4's and kafka-python 2.0.2's admin clients manage the same ACLs the SDK does, an
 * ACL made through Kafka lets a KafkaJS producer in and deleting it shuts it out again; bad
 * input gets INVALID_REQUEST per item and changes nothing; a principal without alter (or
 * describe) on the cluster gets CLUSTER_AUTHORIZATION_FAILED.
 */

const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes } = kafkajs;
const { ResourcePatternTypes } = kafkajs;
const registry = new ProcessRegistry();
const dir = tempDir('strand-kafka-acl-admin-');
const PASSWORD = 'a long enough password';
const TOPIC = 'acl-orders';
const HOSTS_TOPIC = 'acl-hosts';
let cluster: TopicCluster;
let files: PkiFiles;
let admin: Admin;

/** The KV store's ACL, which Kafka clients can neither see nor delete. */
const KV_ACL = {
  resourceType: 'kv',
  patternType: 'prefixed',
  name: 'app/',
  principal: 'User:writer',
  host: '*',
  operation: 'read',
  permission: 'allow',
} as const;

beforeAll(async () => {
  let tls: SecuredCluster['adminTls'];
  ({ cluster, files, adminTls: tls } = await startSecuredCluster(registry, 2, dir.path));
  admin = new Admin({ bootstrap: cluster.bootstrap, tls });
  for (const user of ['ops', 'writer', 'nobody']) await admin.createUser(user, PASSWORD);
  for (const name of [TOPIC, HOSTS_TOPIC])
    await admin.createTopic({ name, partitions: 2, replicationFactor: 2 });
  await admin.createAcls([
    ...(['alter', 'describe'] as const).map((operation) => ({
      resourceType: 'cluster' as const,
      name: 'kafka-cluster',
      principal: 'User:ops',
      operation,
      permission: 'allow' as const,
    })),
    KV_ACL,
  ]);
});
afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
  dir.cleanup();
});

type SocketFactory = NonNullable<ConstructorParameters<typeof Kafka>[0]['socketFactory']>;

/** KafkaJS's own TLS socket, bound to `localAddress` (another loopback address). */
const boundTo =
  (localAddress: string): SocketFactory =>
  ({ host, port, ssl, onConnect }) => {
    const socket = tls.connect(
      // tls.connect passes socket options (localAddress) on to net.connect.
      { host, port, servername: host, localAddress, ...ssl } as tls.ConnectionOptions,
      onConnect,
    );
    socket.setKeepAlive(true, 60_000);
    return socket;
  };

const kafka = (user: string, localAddress?: string) =>
  new Kafka({
    clientId: 'acl-admin-e2e',
    brokers: cluster.bootstrap,
    ssl: { ca: [readFileSync(files.ca, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: user, password: PASSWORD },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    ...(localAddress ? { socketFactory: boundTo(localAddress) } : {}),
  });

/** A KafkaJS ACL: `operation` allowed to `principal` on topic `resourceName` (literal). */
const topicAcl = (resourceName: string, principal: string, operation: number, host = '*') => ({
  resourceType: AclResourceTypes.TOPIC,
  resourceName,
  resourcePatternType: ResourcePatternTypes.LITERAL,
  principal,
  host,
  operation,
  permissionType: AclPermissionTypes.ALLOW,
});

const typeOf = (err: unknown) => (err as { type?: string }).type;
const writerAcls = () => admin.describeAcls({ principal: 'User:writer' });
const sorted = (acls: AclBinding[]) => acls.map((a) => JSON.stringify(a)).sort();

/**
 * A KafkaJS produce as `writer` to both partitions of `topic` (from `localAddress`): 'ok',
 * 'refused' (TOPIC_AUTHORIZATION_FAILED, or KafkaJS's word for a topic left out of its
 * metadata), or the error.
 */
async function writerProduces(topic = TOPIC, localAddress?: string): Promise<string> {
  const producer = kafka('writer', localAddress).producer({ idempotent: false });
  await producer.connect();
  try {
    for (const partition of [0, 1])
      await producer.send({ topic, messages: [{ value: 'hi', partition }] });
    return 'ok';
  } catch (err) {
    const text = `${typeOf(err)} ${String(err)}`;
    return /TOPIC_AUTHORIZATION_FAILED|Not authorized to access topics/.test(text)
      ? 'refused'
      : text;
  } finally {
    await producer.disconnect();
  }
}

async function opsClient(): Promise<RawKafkaClient> {
  const c = await RawKafkaClient.connect(cluster.bootstrap[0]!, {
    tls: { ca: readFileSync(files.ca), servername: 'localhost' },
  });
  expect((await rawScram(c, 'ops', PASSWORD)).errorCode).toBe(0);
  return c;
}

describe("Kafka's ACL APIs (KafkaJS, kafka-python, raw requests)", () => {
  it('KafkaJS creates an ACL: a refused producer is let in; deleting it shuts it out again', async () => {
    expect(await writerProduces()).toBe('refused');
    const ka = kafka('ops').admin();
    await ka.connect();
    const write = topicAcl(TOPIC, 'User:writer', AclOperationTypes.WRITE);
    await ka.createAcls({ acl: [write] });
    // The same store as the SDK's.
    expect(sorted(await writerAcls())).toEqual(
      sorted([
        KV_ACL,
        {
          resourceType: 'topic',
          patternType: 'literal',
          name: TOPIC,
          principal: 'User:writer',
          host: '*',
          operation: 'write',
          permission: 'allow',
        },
      ]),
    );
    // Kafka's ANY filter: every Kafka resource, never the KV store's.
    const { resources } = await ka.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      principal: 'User:writer',
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    expect(resources).toEqual([
      {
        resourceType: AclResourceTypes.TOPIC,
        resourceName: TOPIC,
        resourcePatternType: ResourcePatternTypes.LITERAL,
        acls: [
          {
            principal: 'User:writer',
            host: '*',
            operation: AclOperationTypes.WRITE,
            permissionType: AclPermissionTypes.ALLOW,
          },
        ],
      },
    ]);
    // Every broker follows the ACLs by watch (the partitions' leaders are on both).
    await eventually('the producer let in', async () =>
      (await writerProduces()) === 'ok' ? true : undefined,
    );
    const { filterResponses } = await ka.deleteAcls({
      filters: [
        {
          resourceType: AclResourceTypes.ANY,
          resourcePatternType: ResourcePatternTypes.MATCH,
          principal: 'User:writer',
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY,
        },
      ],
    });
    expect(filterResponses).toMatchObject([
      { errorCode: 0, matchingAcls: [{ errorCode: 0, ...write }] },
    ]);
    expect(await writerAcls()).toEqual([KV_ACL]);
    await eventually('the producer shut out', async () =>
      (await writerProduces()) === 'refused' ? true : undefined,
    );
    await ka.disconnect();
    await cluster.brokers
      .get(1)!
      .proc.waitFor(
        /ACL created principal=User:ops acl=.*allow User:writer write on topic.* via=kafka/,
      );
  });

  it('a host-restricted ACL lets the client from 127.0.0.1 in and keeps the one from 127.0.0.2 out', async () => {
    const ka = kafka('ops').admin();
    await ka.connect();
    await ka.createAcls({
      acl: [topicAcl(HOSTS_TOPIC, 'User:writer', AclOperationTypes.WRITE, '127.0.0.1')],
    });
    await ka.disconnect();
    await eventually('the producer from 127.0.0.1 let in', async () =>
      (await writerProduces(HOSTS_TOPIC, '127.0.0.1')) === 'ok' ? true : undefined,
    );
    // Both brokers have the ACL now (the 127.0.0.1 produce reached both partitions' leaders).
    expect(await writerProduces(HOSTS_TOPIC, '127.0.0.2')).toBe('refused');
    const ends = await admin.listOffsets(HOSTS_TOPIC, 'latest');
    expect(ends.map((o) => o.offset)).toEqual([1, 1]);
  });

  it('without alter (describe) on the cluster: CLUSTER_AUTHORIZATION_FAILED, nothing changed', async () => {
    const before = sorted(await admin.describeAcls());
    const ka = kafka('nobody').admin();
    await ka.connect();
    const acl = topicAcl(TOPIC, 'User:nobody', AclOperationTypes.ALL);
    const filter = { ...acl, resourceType: AclResourceTypes.ANY, principal: undefined };
    for (const attempt of [
      ka.createAcls({ acl: [acl] }),
      ka.describeAcls(filter),
      ka.deleteAcls({ filters: [filter] }),
    ])
      expect(typeOf(await attempt.catch((e: unknown) => e))).toBe('CLUSTER_AUTHORIZATION_FAILED');
    await ka.disconnect();
    expect(sorted(await admin.describeAcls())).toEqual(before);
  });

  it('bad creations and filters get INVALID_REQUEST each; the good ones are made, nothing else', async () => {
    const before = sorted(await admin.describeAcls());
    const c = await opsClient();
    const good = {
      resourceType: R.GROUP,
      resourceName: 'billing',
      resourcePatternType: P.LITERAL,
      principal: 'User:writer',
      host: '127.0.0.1',
      operation: O.READ,
      permissionType: T.ALLOW,
    };
    const bad = [
      { resourceType: 9 },
      { resourceType: R.ANY },
      { resourceType: R.USER },
      { resourcePatternType: P.MATCH },
      { resourcePatternType: P.PREFIXED, resourceName: '*' },
      { resourceName: '' },
      { principal: '' },
      { principal: 'writer' },
      { host: 'example.com' },
      { operation: O.ANY },
      { operation: O.CLUSTER_ACTION },
      { permissionType: T.ANY },
      { resourceType: R.CLUSTER, resourceName: 'other-cluster', operation: O.ALTER },
    ];
    for (const version of [1, 2]) {
      const res = await c.request(CreateAcls, version, {
        creations: [...bad.map((b) => ({ ...good, ...b })), good],
      });
      expect(res.results.map((r) => r.errorCode)).toEqual([
        ...bad.map(() => KafkaError.INVALID_REQUEST),
        0,
      ]);
      for (const r of res.results.slice(0, -1)) expect(r.errorMessage).toMatch(/\S/);
    }
    const made = sorted(await admin.describeAcls());
    expect(made.filter((a) => !before.includes(a))).toEqual([
      JSON.stringify({
        resourceType: 'group',
        patternType: 'literal',
        name: 'billing',
        principal: 'User:writer',
        host: '127.0.0.1',
        operation: 'read',
        permission: 'allow',
      }),
    ]);
    const described = await c.request(DescribeAcls, 3, {
      resourceTypeFilter: 0,
      patternTypeFilter: P.ANY,
      operation: O.ANY,
      permissionType: T.ANY,
    });
    expect(described.errorCode).toBe(KafkaError.INVALID_REQUEST);
    const deleted = await c.request(DeleteAcls, 3, {
      filters: [
        {
          resourceTypeFilter: R.GROUP,
          resourceNameFilter: 'billing',
          patternTypeFilter: P.LITERAL,
          operation: 0,
          permissionType: T.ANY,
        },
        {
          resourceTypeFilter: R.GROUP,
          resourceNameFilter: 'billing',
          patternTypeFilter: P.LITERAL,
          principalFilter: '',
          operation: O.ANY,
          permissionType: T.ANY,
        },
        {
          resourceTypeFilter: R.GROUP,
          resourceNameFilter: 'billing',
          patternTypeFilter: P.LITERAL,
          operation: O.ANY,
          permissionType: T.ANY,
        },
      ],
    });
    // An operation of 0 is refused; an empty principal matches nothing; the third deletes it.
    expect(deleted.filterResults.map((f) => [f.errorCode, f.matchingAcls.length])).toEqual([
      [KafkaError.INVALID_REQUEST, 0],
      [0, 0],
      [0, 1],
    ]);
    expect(sorted(await admin.describeAcls())).toEqual(before);
    c.close();
  });

  it("filters select as Kafka's do: LITERAL the name itself, MATCH every pattern that matches it", async () => {
    const c = await opsClient();
    const make = (resourceName: string, resourcePatternType: number) => ({
      resourceType: R.TOPIC,
      resourceName,
      resourcePatternType,
      principal: 'User:reader',
      host: '*',
      operation: O.READ,
      permissionType: T.ALLOW,
    });
    const created = await c.request(CreateAcls, 3, {
      creations: [
        make('eu.orders', P.LITERAL),
        make('eu.', P.PREFIXED),
        make('*', P.LITERAL),
        make('us.', P.PREFIXED),
      ],
    });
    expect(created.results.map((r) => r.errorCode)).toEqual([0, 0, 0, 0]);
    const names = async (resourceNameFilter: string, patternTypeFilter: number) => {
      const r = await c.request(DescribeAcls, 2, {
        resourceTypeFilter: R.TOPIC,
        resourceNameFilter,
        patternTypeFilter,
        principalFilter: 'User:reader',
        operation: O.ANY,
        permissionType: T.ANY,
      });
      expect(r.errorCode).toBe(0);
      return r.resources.map((x) => `${x.patternType}:${x.resourceName}`).sort();
    };
    expect(await names('eu.orders', P.MATCH)).toEqual(['3:*', '3:eu.orders', '4:eu.']);
    expect(await names('eu.orders', P.LITERAL)).toEqual(['3:eu.orders']);
    expect(await names('eu.', P.ANY)).toEqual(['4:eu.']);
    expect(await names('*', P.LITERAL)).toEqual(['3:*']);
    const gone = await c.request(DeleteAcls, 1, {
      filters: [
        {
          resourceTypeFilter: R.TOPIC,
          patternTypeFilter: P.ANY,
          principalFilter: 'User:reader',
          operation: O.ANY,
          permissionType: T.ANY,
        },
      ],
    });
    expect(gone.filterResults[0]!.matchingAcls).toHaveLength(4);
    c.close();
  });
});

const PYTHON = '/usr/bin/python3';
const python = tool(PYTHON);
const PY_SCRIPT = `
import sys
from kafka.admin import (KafkaAdminClient, ACL, ACLFilter, ACLOperation, ACLPermissionType,
    ResourcePattern, ResourcePatternFilter, ResourceType, ACLResourcePatternType)
bootstrap, ca, user, password = sys.argv[1:5]
a = KafkaAdminClient(bootstrap_servers=bootstrap, security_protocol='SASL_SSL', ssl_cafile=ca,
    sasl_mechanism='SCRAM-SHA-512', sasl_plain_username=user, sasl_plain_password=password)
acl = ACL(principal='User:py', host='*', operation=ACLOperation.DESCRIBE,
    permission_type=ACLPermissionType.ALLOW,
    resource_pattern=ResourcePattern(ResourceType.GROUP, 'py-', ACLResourcePatternType.PREFIXED))
r = a.create_acls([acl])
print('created', len(r['succeeded']), len(r['failed']))
f = ACLFilter(principal='User:py', host=None, operation=ACLOperation.ANY,
    permission_type=ACLPermissionType.ANY,
    resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
acls, err = a.describe_acls(f)
for x in acls:
    print('described', x.resource_pattern.resource_type.name, x.resource_pattern.resource_name,
          x.resource_pattern.pattern_type.name, x.operation.name, x.permission_type.name)
for _, matched, err in a.delete_acls([f]):
    print('deleted', len(matched), err.__name__)
a.close()
`;

describe.skipIf(!python.present)("kafka-python's admin client", () => {
  it('creates, describes and deletes an ACL (CreateAcls, DescribeAcls, DeleteAcls v1)', async () => {
    const args = [cluster.bootstrap[0]!, files.ca, 'ops', PASSWORD];
    const out = await run(PYTHON, ['-c', PY_SCRIPT, ...args], { timeoutMs: 60_000 });
    expect(out.split('\n').filter(Boolean)).toEqual([
      'created 1 0',
      'described GROUP py- PREFIXED DESCRIBE ALLOW',
      'deleted 1 NoError',
    ]);
    expect(await admin.describeAcls({ principal: 'User:py' })).toEqual([]);
  });
});
