import { Admin } from '@strand/client';
import {
  ApiVersions,
  CreateAcls,
  DeleteAcls,
  DescribeAcls,
  encodeRequest,
  KafkaError,
  Metadata,
} from '@strand/kafka-protocol';
import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from '../cluster.test-util.js';
import { RawKafkaClient, run, tool } from './client.test-util.js';

const registry = new ProcessRegistry();
let cluster: TopicCluster;
const kcat = tool('/usr/bin/kcat');

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 2, {
    brokerArgs: ['--kafka-max-request-bytes', '65536'],
  });
});

afterAll(async () => {
  await registry.stopAll();
  cluster?.cleanup();
});

describe("the Kafka listener, on the brokers' gRPC port", () => {
  it('answers ApiVersions with what it serves, and an unknown version with v0 and UNSUPPORTED_VERSION', async () => {
    const c = await RawKafkaClient.connect(cluster.bootstrap[0]!);
    try {
      const v3 = await c.request(ApiVersions, 3, {
        clientSoftwareName: 'raw',
        clientSoftwareVersion: '1',
      });
      expect(v3.errorCode).toBe(0);
      expect(v3.apiKeys).toContainEqual({ apiKey: 3, minVersion: 0, maxVersion: 12 });
      for (const apiKey of [29, 30, 31])
        expect(v3.apiKeys).toContainEqual({ apiKey, minVersion: 0, maxVersion: 3 });
      // Version 9 of ApiVersions does not exist: the answer is a v0 body with the versions.
      const frame = c.expect(2);
      c.write(
        encodeRequest(
          { ...ApiVersions, maxVersion: 9 },
          9,
          { correlationId: 2, clientId: null },
          {},
        ),
      );
      const v0 = (await import('@strand/kafka-protocol')).decodeResponse(
        ApiVersions,
        0,
        await frame,
      ).body;
      expect(v0.errorCode).toBe(35);
      expect(v0.apiKeys).toEqual(v3.apiKeys);
    } finally {
      c.close();
    }
  });

  it("answers the ACL APIs SECURITY_DISABLED: authorization is off (Kafka's answer without an authorizer)", async () => {
    const c = await RawKafkaClient.connect(cluster.bootstrap[0]!);
    try {
      const acl = {
        resourceType: 2,
        resourceName: 't',
        principal: 'User:a',
        host: '*',
        operation: 3,
        permissionType: 3,
      };
      const created = await c.request(CreateAcls, 2, { creations: [acl] });
      expect(created.results).toEqual([
        { errorCode: KafkaError.SECURITY_DISABLED, errorMessage: expect.stringMatching(/off/) },
      ]);
      const filter = {
        resourceTypeFilter: 1,
        patternTypeFilter: 1,
        operation: 1,
        permissionType: 1,
      };
      expect((await c.request(DescribeAcls, 1, filter)).errorCode).toBe(
        KafkaError.SECURITY_DISABLED,
      );
      const deleted = await c.request(DeleteAcls, 0, { filters: [filter] });
      expect(deleted.filterResults.map((f) => f.errorCode)).toEqual([KafkaError.SECURITY_DISABLED]);
    } finally {
      c.close();
    }
  });

  it('answers pipelined requests in request order', async () => {
    const c = await RawKafkaClient.connect(cluster.bootstrap[1]!);
    try {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 === 0
            ? c.request(Metadata, 9, {
                topics: [{ name: `missing-${i}` }],
                allowAutoTopicCreation: false,
              })
            : c.request(ApiVersions, 2, {}),
        ),
      );
      expect(answers).toHaveLength(50);
      expect(c.order).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    } finally {
      c.close();
    }
  });

  it('closes a connection that sends a request over the size limit or bytes that are no request', async () => {
    const big = await RawKafkaClient.connect(cluster.bootstrap[0]!);
    const size = Buffer.alloc(4);
    size.writeInt32BE(65537);
    big.write(size);
    await big.closed;
    const junk = await RawKafkaClient.connect(cluster.bootstrap[0]!);
    junk.write(Buffer.from([0, 0, 0, 12, 0, 3, 0, 9, 0, 0, 0, 1, 0x7f, 0xff, 0, 0]));
    await junk.closed;
    // The broker is fine: the next client is served.
    const c = await RawKafkaClient.connect(cluster.bootstrap[0]!);
    expect((await c.request(ApiVersions, 0, {})).errorCode).toBe(0);
    c.close();
  });

  it.skipIf(!kcat.present)(
    'kcat -L lists every broker and the partitions of topics made with the SDK',
    async () => {
      const admin = new Admin({ bootstrap: cluster.bootstrap });
      try {
        await admin.createTopic({ name: 'listed', partitions: 3, replicationFactor: 2 });
        const out = JSON.parse(
          await run('/usr/bin/kcat', ['-b', cluster.bootstrap[0]!, '-L', '-J', '-t', 'listed']),
        ) as {
          brokers: { id: number; name: string }[];
          topics: {
            topic: string;
            partitions: {
              partition: number;
              leader: number;
              replicas: { id: number }[];
              isrs: { id: number }[];
            }[];
          }[];
        };
        expect(out.brokers.map((b) => b.name).sort()).toEqual(
          [...cluster.brokers.values()].map((b) => b.address).sort(),
        );
        const described = await admin.describeTopic('listed');
        const topic = out.topics.find((t) => t.topic === 'listed')!;
        expect(
          topic.partitions.map((p) => ({
            partition: p.partition,
            leader: p.leader,
            replicas: p.replicas.map((r) => r.id),
          })),
        ).toEqual(
          described.partitions.map((p) => ({
            partition: p.partition,
            leader: p.leader,
            replicas: p.replicas,
          })),
        );
        // The gRPC side still works on the same port.
        expect((await admin.listTopics()).map((t) => t.name)).toContain('listed');
      } finally {
        await admin.close();
      }
    },
  );
});
