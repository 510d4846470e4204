import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ProcessRegistry } from '@strand/testkit';
import { brokerService, groupService } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.test-util.js';

// Subscription patterns on a real coordinator (issue 10, item 7): a pattern that backtracks
// exponentially in a RegExp (8 s per check against 27 a's, re-checked every tick, while
// linearizable reads on the node failed) is matched in linear time, and bounded in length.

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
const registry = new ProcessRegistry();
let cluster: TestCluster;
let groups: AnyClient;
let controller: AnyClient;

function call<T>(client: AnyClient, method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method]!(req, { deadline: Date.now() + 10_000 }, (err: unknown, res: T) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

const join = (pattern: string, groupId = 'evil') =>
  call<{ member_id: string; generation: number }>(groups, 'JoinGroup', {
    group_id: groupId,
    session_timeout_ms: 10_000,
    rebalance_timeout_ms: 10_000,
    subscription: { pattern },
    assignors: ['range'],
  });

beforeAll(async () => {
  cluster = await startCluster(registry, 1, ['--group-initial-rebalance-delay-ms', '0']);
  await cluster.leader();
  const address = cluster.addresses.get(cluster.ids[0]!)!;
  const insecure = grpc.credentials.createInsecure();
  groups = new (groupService('GroupCoordinator'))(address, insecure) as AnyClient;
  controller = new (brokerService('Controller'))(address, insecure) as AnyClient;
});

afterAll(async () => {
  groups?.close();
  controller?.close();
  await cluster?.close();
});

describe('subscription patterns', () => {
  it('^(a+)+b$ against a topic of 27 a’s: the join answers, reads stay linearizable, only the matching topic is assigned', async () => {
    // Topics need a live broker to be placed on: one registers (its heartbeats do not matter).
    await call(controller, 'RegisterBroker', {
      id: 1,
      address: '127.0.0.1:9',
      incarnation: 'patterns',
      token: randomBytes(32),
    });
    for (const name of ['a'.repeat(27), 'aab'])
      await call(controller, 'CreateTopic', { name, partitions: 2, replication_factor: 1 });
    const kv = cluster.client();
    // The groups' view of the topics is a second old at most.
    await new Promise((r) => setTimeout(r, 1500));

    // Linearizable reads all along, each within the client's 3 s timeout.
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        await kv.get('anything');
        reads += 1;
      }
    })();
    const started = Date.now();
    const member = await join('^(a+)+b$');
    const sync = await call<{ assignment: { topic: string; partitions: number[] }[] }>(
      groups,
      'SyncGroup',
      { group_id: 'evil', member_id: member.member_id, generation: member.generation },
    );
    // Ticks re-check the pattern: keep reading through a few seconds of them.
    while (Date.now() - started < 3000) await new Promise((r) => setTimeout(r, 100));
    reading = false;
    await reader;
    expect(sync.assignment).toEqual([{ topic: 'aab', partitions: [0, 1] }]);
    expect(reads).toBeGreaterThan(10);
    kv.close();
  });

  it('a pattern over 1000 characters, or one RE2 cannot match in linear time, is refused with a typed error', async () => {
    for (const pattern of ['a'.repeat(1001), '(a)\\1', 'a(?=b)']) {
      const err = (await join(pattern, 'refused').then(
        () => undefined,
        (e: unknown) => e,
      )) as grpc.ServiceError | undefined;
      expect(err?.code, pattern).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.metadata.get('strand-code'), pattern).toEqual(['INVALID_REQUEST']);
    }
  });
});
