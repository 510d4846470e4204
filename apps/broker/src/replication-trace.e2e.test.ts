import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Producer } from '@strand/client';
import { ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// --trace-replication: each broker says, batch by batch, where an acks=all produce waited.

const registry = new ProcessRegistry();
const traces = tempDir('strand-trace-');
const traceFile = (id: number) => join(traces.path, `trace-${id}.jsonl`);
let cluster: TopicCluster;

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 3, {
    brokerArgsFor: (id) => ['--trace-replication', traceFile(id)],
  });
});

afterAll(async () => {
  await registry.stopAll();
  cluster?.cleanup();
  traces.cleanup();
});

const linesOf = (id: number): Record<string, unknown>[] =>
  existsSync(traceFile(id))
    ? readFileSync(traceFile(id), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];

describe('the replication trace', () => {
  it('has a line per committed batch on its leader and per copied answer on its followers, in time order', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap });
    await admin.createTopic({ name: 'traced', partitions: 1, replicationFactor: 3 });
    const deadline = Date.now() + 20_000;
    let leader = -1;
    while (Date.now() < deadline) {
      const p = (await admin.describeTopic('traced')).partitions[0]!;
      if (p.isr.length === 3 && p.leader > 0) {
        leader = p.leader;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await admin.close();
    expect(leader).toBeGreaterThan(0);
    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', lingerMs: 0 });
    for (let i = 0; i < 20; i++) await producer.send({ topic: 'traced', value: `v${i}` });
    await producer.close();

    // Written about once a second: wait for the leader's lines of all 20 offsets.
    type Leader = { end: number; received: number; appended: number; committed: number };
    let batches: (Leader & { followers: Record<string, [number, number]> })[] = [];
    const followerIds = [1, 2, 3].filter((id) => id !== leader);
    const copiesOf = (id: number) => linesOf(id).filter((l) => l.kind === 'follower');
    while (Date.now() < deadline + 10_000) {
      batches = linesOf(leader).filter((l) => l.kind === 'leader') as typeof batches;
      const copied = followerIds.every((id) => copiesOf(id).some((c) => (c.to as number) >= 20));
      if (copied && batches.some((b) => b.end === 20)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(batches.map((b) => b.end)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (const b of batches) {
      expect(b.received).toBeLessThanOrEqual(b.appended);
      expect(b.appended).toBeLessThanOrEqual(b.committed);
      // A follower may read a batch in the moment between its write and its trace entry: then
      // that follower is missing from the line, never wrong in it.
      const followers = Object.entries(b.followers);
      for (const [id] of followers) expect(followerIds).toContain(Number(id));
      for (const [, [sent, back]] of followers) {
        expect(sent).toBeGreaterThanOrEqual(b.appended);
        expect(back).toBeGreaterThanOrEqual(sent);
        expect(back).toBeLessThanOrEqual(b.committed);
      }
    }
    expect(batches.filter((b) => Object.keys(b.followers).length === 2).length).toBeGreaterThan(10);
    for (const id of followerIds) {
      const copies = copiesOf(id);
      expect(copies.at(-1)?.to).toBe(20);
      expect(copies.every((c) => (c.got as number) <= (c.appended as number))).toBe(true);
    }
  });
});
