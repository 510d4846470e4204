import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, KvClient, Producer } from '@strand/client';
import {
  coordinatorLayout,
  eventually,
  freePort,
  type NodeProcess,
  ProcessRegistry,
  tempDir,
} from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, exec } from './cli.test-util.js';

const COORDINATOR = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));
const BROKER = fileURLToPath(import.meta.resolve('@strand/broker/main'));

const registry = new ProcessRegistry();
const dir = tempDir('strand-kv-member-');
const coordinators = new Map<number, { address: string; proc: NodeProcess }>();
let oldAddresses: string[] = [];
let brokerAddress = '';
let kv: KvClient;
let admin: Admin;
let producer: Producer;

/** `strand …` against the given coordinators. */
const strand = (args: string[], bootstrap: string[]) =>
  exec(process.execPath, [CLI, ...args], {
    env: { ...process.env, STRAND_KV_BOOTSTRAP: bootstrap.join(',') },
  });
const live = () => [...coordinators.values()].filter((c) => c.proc.running).map((c) => c.address);

async function startCoordinator(id: number, address: string, args: string[]): Promise<void> {
  const proc = await registry.start(COORDINATOR, {
    name: `coordinator-${id}`,
    args: [...args, '--data', join(dir.path, `c${id}`)],
    readyLine: /listening on/,
    readyTimeoutMs: 60_000,
  });
  coordinators.set(id, { address, proc });
}

/**
 * The leader counts a voter as answering for an election timeout after it last heard from it
 * (40 ticks of 30 ms by default; etcd's strict check allows 5 s). Asked sooner after a kill,
 * the guard would rightly let a removal through that leaves no quorum, and the cluster would
 * stay without one: the test then could not go on. Wait it out, with room for late ticks.
 */
const outlastActivityWindow = () => new Promise((r) => setTimeout(r, 4000));

beforeAll(async () => {
  const layout = await coordinatorLayout(3);
  await Promise.all(
    layout.ids.map((id) => startCoordinator(id, layout.clients.get(id)!, layout.args(id))),
  );
  oldAddresses = [...layout.clients.values()];
  brokerAddress = `127.0.0.1:${await freePort()}`;
  await registry.start(BROKER, {
    name: 'broker-1',
    args: [
      ...['--id', '1', '--listen', brokerAddress, '--data', join(dir.path, 'broker-1')],
      ...['--coordinators', oldAddresses.join(',')],
    ],
    readyLine: /broker \d+ listening on/,
    readyTimeoutMs: 60_000,
  });
  // Every client knows only the three first coordinators: it must learn of the new one.
  kv = new KvClient({ bootstrap: oldAddresses, timeoutMs: 3000 });
  admin = new Admin({ bootstrap: [brokerAddress] });
  producer = new Producer({ bootstrap: [brokerAddress], lingerMs: 1 });
  await admin.createTopic({ name: 'before', partitions: 1 });
  await producer.send({ topic: 'before', value: 'one' });
}, 120_000);

afterAll(async () => {
  kv?.close();
  await producer?.close();
  await admin?.close();
  await registry.stopAll();
  dir.cleanup();
});

describe('strand kv member: replacing dead coordinators at run time', () => {
  it('removes a dead voter, refusing first a removal that would lose quorum', async () => {
    await coordinators.get(1)!.proc.kill9();
    await outlastActivityWindow();
    // With 1 dead, removing 2 would leave {1, 3}: one voter answers, a quorum needs two.
    const refused = await eventually('a refusal', async () => {
      const r = await strand(['kv', 'member', 'remove', '2'], live());
      return r.stderr.includes('MEMBERSHIP_REFUSED') ? r : undefined;
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/removing 2 would leave 2 voter\(s\) of which 1 answered/);
    const removed = await strand(['kv', 'member', 'remove', '1', '--json'], live());
    expect(removed.stderr).toBe('');
    const after = JSON.parse(removed.stdout) as { members: { id: number }[] };
    expect(after.members.map((m) => m.id)).toEqual([2, 3]);
    coordinators.delete(1);
  }, 60_000);

  it('adds a fresh coordinator as a learner, then promotes it once caught up', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const peer = `127.0.0.1:${await freePort()}`;
    const added = await strand(
      ['kv', 'member', 'add', '4', address, '--peer-address', peer, '--json'],
      live(),
    );
    expect(added.stderr).toBe('');
    const out = JSON.parse(added.stdout) as {
      members: { id: number; isLearner: boolean }[];
      start: string[];
    };
    expect(out.members.find((m) => m.id === 4)?.isLearner).toBe(true);
    await startCoordinator(4, address, out.start);
    // A learner that has not caught up is refused; once it has, promoted.
    await eventually(
      'promotion',
      async () => {
        const r = await strand(['kv', 'member', 'promote', '4'], live());
        if (r.code !== 0) throw new Error(r.stderr);
        return true;
      },
      30_000,
      300,
    );
    const list = await strand(['kv', 'member', 'list', '--json'], [address]);
    const listed = JSON.parse(list.stdout) as {
      members: { id: number; isLearner: boolean }[];
      kvFormat: number;
    };
    // The cluster's KV entry format: the newest (2: binary with unversioned rows), every
    // member reading it.
    expect(listed.kvFormat).toBe(2);
    const members = listed.members;
    expect(members.map((m) => [m.id, m.isLearner])).toEqual([
      [2, false],
      [3, false],
      [4, false],
    ]);
    // The new voter has the whole store.
    const got = await strand(
      ['kv', 'get', '/strand/topics/before', '--consistency', 'stale'],
      [address],
    );
    expect(got.code).toBe(0);
  }, 90_000);

  it('keeps a quorum with another old one killed: KV, topic admin and produce go on', async () => {
    await coordinators.get(2)!.proc.kill9();
    // Clients that knew only the first three coordinators find the new one.
    await kv.put('after/replace', 'yes');
    expect((await kv.get('after/replace'))?.value.toString()).toBe('yes');
    await admin.createTopic({ name: 'after', partitions: 1 });
    await producer.send({ topic: 'after', value: 'two' });
    await producer.send({ topic: 'before', value: 'three' });
    const m = await kv.members();
    expect(m.members.map((x) => x.address)).toContain(coordinators.get(4)!.address);
    // {2, 3, 4} with 2 dead: removing 3 would leave {2, 4} with one that answers.
    await outlastActivityWindow();
    const refused = await eventually('a refusal', async () => {
      const r = await strand(['kv', 'member', 'remove', '3'], live());
      return r.stderr.includes('MEMBERSHIP_REFUSED') ? r : undefined;
    });
    expect(refused.code).not.toBe(0);
    expect((await kv.get('after/replace'))?.value.toString()).toBe('yes');
  }, 90_000);
});
