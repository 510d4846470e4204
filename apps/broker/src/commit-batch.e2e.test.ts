import { Admin, Consumer } from '@strand/client';
import { KafkaError, OffsetCommit } from '@strand/kafka-protocol';
import { adminUrlOf, ProcessRegistry, type Scrape, scrapeMetrics } from '@strand/testkit';
import { ErrorCode, type StrandError } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';
import { RawKafkaClient } from './kafka/client.test-util.js';

// Offset commits made at once reach the coordinator in batch calls (real processes): the
// SDK's consumers of one process share them, and so do the Kafka clients a broker forwards.
// Each commit is still answered on its own: one that fails fails alone.

const registry = new ProcessRegistry();
let cluster: TopicCluster;
let admin: Admin;
const CONSUMERS = 30;

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 1, {
    admin: true,
    coordinatorArgs: ['--group-initial-rebalance-delay-ms', '0'],
  });
  admin = new Admin({ bootstrap: cluster.bootstrap });
  await admin.createTopic({ name: 'orders', partitions: 4 });
});

afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

const scrape = () => scrapeMetrics(adminUrlOf(cluster.coordinators.get(1)!.proc));
/** What the coordinator counted of commit calls between two scrapes. */
function counted(before: Scrape, after: Scrape) {
  const delta = (name: string, via: string) => after.sum(name, { via }) - before.sum(name, { via });
  return {
    batchCalls: delta('strand_group_commit_calls_total', 'batch'),
    batchCommits: delta('strand_group_commits_total', 'batch'),
    singleCalls: delta('strand_group_commit_calls_total', 'single'),
  };
}

describe('offset commits in batch calls', () => {
  it('many SDK consumers committing at once: fewer calls, every commit answered on its own', async () => {
    const consumers = Array.from(
      { length: CONSUMERS },
      (_, i) =>
        new Consumer({ bootstrap: cluster.bootstrap, groupId: `sdk-${i}`, autoCommit: false }),
    );
    // Each finds the coordinator first (on its own time: those commits need not batch).
    for (const c of consumers) await c.commit([{ topic: 'orders', partition: 0, offset: 1 }]);

    const before = await scrape();
    const results = await Promise.all(
      consumers.map((c, i) =>
        c
          .commit([
            // The last consumer names a topic there is none of: its commit alone fails.
            {
              topic: i === CONSUMERS - 1 ? 'no-such-topic' : 'orders',
              partition: i % 4,
              offset: 10 + i,
            },
          ])
          .then(
            () => 'ok',
            (e: StrandError) => e.code,
          ),
      ),
    );
    const after = await scrape();
    expect(results.slice(0, -1)).toEqual(Array(CONSUMERS - 1).fill('ok'));
    expect(results.at(-1)).toBe(ErrorCode.UnknownTopic);
    const n = counted(before, after);
    expect(n.batchCommits).toBe(CONSUMERS);
    expect(n.batchCalls).toBeLessThanOrEqual(2);
    expect(n.singleCalls).toBe(0);

    for (const [i, c] of consumers.entries()) {
      if (i === CONSUMERS - 1) continue;
      const committed = await c.committed([{ topic: 'orders', partition: i % 4 }]);
      expect(committed.get(`orders\u0000${i % 4}`)).toBe(10 + i);
    }
    await Promise.all(consumers.map((c) => c.close()));
  });

  it("Kafka clients' OffsetCommits forwarded by a broker: batched, each commit's error its own", async () => {
    const kafka = await RawKafkaClient.connect(cluster.bootstrap[0]!);
    const groups = Array.from({ length: 20 }, (_, i) => `kafka-${i}`);
    const before = await scrape();
    // Pipelined in one write: the broker handles them together.
    kafka.socket.cork();
    const answers = [
      ...groups.map((groupId, i) =>
        kafka.request(OffsetCommit, 0, {
          groupId,
          topics: [
            { name: 'orders', partitions: [{ partitionIndex: i % 4, committedOffset: 5 + i }] },
          ],
        }),
      ),
      // A member no group has: refused, for this commit only.
      kafka.request(OffsetCommit, 2, {
        groupId: 'kafka-ghost',
        generationIdOrMemberEpoch: 3,
        memberId: 'ghost',
        retentionTimeMs: -1,
        topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1 }] }],
      }),
    ];
    kafka.socket.uncork();
    const codes = (await Promise.all(answers)).map((a) => a.topics[0]!.partitions[0]!.errorCode);
    const after = await scrape();
    kafka.close();
    expect(codes).toEqual([...groups.map(() => KafkaError.NONE), KafkaError.UNKNOWN_MEMBER_ID]);
    const n = counted(before, after);
    expect(n.batchCommits).toBe(groups.length + 1);
    expect(n.batchCalls).toBeLessThanOrEqual(2);

    for (const [i, groupId] of groups.entries()) {
      const d = await admin.describeGroup(groupId);
      expect(d.offsets.find((o) => o.partition === i % 4)?.committed).toBe(5 + i);
    }
    expect(
      (await admin.describeGroup('kafka-ghost').catch(() => undefined))?.offsets ?? [],
    ).toEqual([]);
  });
});
