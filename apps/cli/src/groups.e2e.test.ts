import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import {
  Admin,
  Consumer,
  type GroupDescription,
  Producer,
  type RebalanceListener,
  type TopicPartition,
} from '@strand/client';
import {
  coordinatorLayout,
  freePort,
  type NodeProcess,
  ProcessRegistry,
  tempDir,
} from '@strand/testkit';
import { fromGrpcError, groupService } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
const COORDINATOR = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));
const BROKER = fileURLToPath(import.meta.resolve('@strand/broker/main'));
const SESSION_MS = 3000;
type RawClient = { close(): void } & Record<string, (...a: unknown[]) => void>;

const registry = new ProcessRegistry();
const dir = tempDir('strand-groups-');
const coordinators = new Map<number, { address: string; args: string[]; proc: NodeProcess }>();
let bootstrap = '';
let admin: Admin;
let producer: Producer;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `strand consume --group` process; every line it printed is kept (kill -9 loses none). */
class Member {
  readonly values: string[] = [];
  private readonly child: ChildProcess;
  private rest = '';
  readonly exited: Promise<void>;
  constructor(group: string, extra: string[] = []) {
    this.child = spawn(
      process.execPath,
      [
        CLI,
        'consume',
        'orders',
        '--group',
        group,
        '--from-beginning',
        '--format',
        'json',
        '--session-timeout-ms',
        String(SESSION_MS),
        ...extra,
      ],
      { env: { ...process.env, STRAND_BOOTSTRAP: bootstrap }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const text = this.rest + chunk.toString('utf8');
      const lines = text.split('\n');
      this.rest = lines.pop() ?? '';
      for (const l of lines) if (l) this.values.push((JSON.parse(l) as { value: string }).value);
    });
    this.child.stderr!.on('data', () => undefined);
    this.exited = new Promise((r) => this.child.on('exit', () => r()));
  }
  kill9(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    return this.exited;
  }
  stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}
const members: Member[] = [];
const member = (group = 'g1', extra: string[] = []) => {
  const m = new Member(group, extra);
  members.push(m);
  return m;
};

async function startCoordinator(id: number): Promise<void> {
  const c = coordinators.get(id)!;
  c.proc = await registry.start(COORDINATOR, {
    name: `coordinator-${id}`,
    args: c.args,
    readyLine: /listening on/,
    readyTimeoutMs: 60_000,
  });
}

beforeAll(async () => {
  const layout = await coordinatorLayout(3);
  for (const id of layout.ids)
    coordinators.set(id, {
      address: layout.clients.get(id)!,
      args: [
        ...layout.args(id),
        ...['--data', join(dir.path, `c${id}`), '--group-initial-rebalance-delay-ms', '300'],
      ],
      proc: undefined as never,
    });
  await Promise.all(layout.ids.map(startCoordinator));
  const brokers: string[] = [];
  for (const id of [1, 2]) {
    const address = `127.0.0.1:${await freePort()}`;
    brokers.push(address);
    await registry.start(BROKER, {
      name: `broker-${id}`,
      args: [
        ...['--id', String(id), '--listen', address, '--data', join(dir.path, `b${id}`)],
        ...['--coordinators', [...coordinators.values()].map((c) => c.address).join(',')],
      ],
      readyLine: /broker \d+ listening on/,
      readyTimeoutMs: 60_000,
    });
  }
  bootstrap = brokers.join(',');
  admin = new Admin({ bootstrap: brokers });
  producer = new Producer({ bootstrap: brokers, lingerMs: 2 });
  await admin.createTopic({ name: 'orders', partitions: 12 });
});

afterAll(async () => {
  await Promise.all(members.map((m) => m.kill9()));
  await producer?.close().catch(() => undefined);
  await admin?.close();
  await registry.stopAll();
  dir.cleanup();
});

let produced = 0;
async function produce(n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, () => {
      const i = produced++;
      return producer.send({ topic: 'orders', key: `k${i}`, value: String(i) });
    }),
  );
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

/** The group once it is stable with `n` members and every partition assigned exactly once. */
function stableWith(n: number, group = 'g1', after = 0): Promise<GroupDescription> {
  return until(`group ${group} stable with ${n} members`, async () => {
    const d = await admin.describeGroup(group);
    const owned = d.members.flatMap((m) => m.assignment.map((tp) => tp.partition));
    const ok =
      d.state === 'STABLE' &&
      d.generation > after &&
      d.members.length === n &&
      owned.length === 12 &&
      new Set(owned).size === 12;
    return ok ? d : undefined;
  });
}

const seen = (ms: Member[]) => new Set(ms.flatMap((m) => m.values));

function allSeen(ms: Member[]): Promise<true> {
  return until(`all ${produced} records consumed`, async () =>
    seen(ms).size >= produced ? true : undefined,
  );
}

describe('consumer groups across real processes', () => {
  it('3 members share 12 partitions; a member killed -9 is replaced within the session; a new member rebalances', async () => {
    const first = [member(), member(), member()];
    const g = await stableWith(3);
    for (const m of g.members) expect(m.assignment).toHaveLength(4);
    await produce(1200);
    await allSeen(first);
    // No partition was read by two members: every record came out exactly once.
    const all = first.flatMap((m) => m.values);
    expect(all.length).toBe(1200);
    expect(new Set(all).size).toBe(1200);

    const killedAt = Date.now();
    await first[2]!.kill9();
    const after = await stableWith(2, 'g1', g.generation);
    // Its session expired (a member that is never expired stays listed): a slack of 20 s over
    // the 3 s session for a loaded machine.
    expect(Date.now() - killedAt).toBeLessThan(SESSION_MS + 20_000);
    expect(after.members.map((m) => m.memberId).sort()).toEqual(
      g.members
        .map((m) => m.memberId)
        .filter((id) => after.members.some((x) => x.memberId === id))
        .sort(),
    );
    await produce(600);
    await allSeen(first);

    member();
    const joined = await stableWith(3, 'g1', after.generation);
    expect(joined.generation).toBeGreaterThan(after.generation);
    await produce(600);
    await allSeen(members);
  });

  it('group state and offsets survive the coordinator leader; nothing is lost across restarts of every consumer and of the leader', async () => {
    const before = await stableWith(3);
    const leader = (await admin.describeCluster()).coordinators.find((c) => c.isLeader)!;
    await coordinators.get(leader.id)!.proc.kill9();
    // A new leader restores the generation: members carry on without a rebalance.
    const restored = await until('a new coordinator leader', async () => {
      const d = await admin.describeGroup('g1');
      return d.members.length > 0 ? d : undefined;
    });
    expect(restored.generation).toBe(before.generation);
    expect(restored.members.map((m) => m.memberId).sort()).toEqual(
      before.members.map((m) => m.memberId).sort(),
    );
    await startCoordinator(leader.id);
    await produce(600);
    await allSeen(members);

    // Kill -9 every consumer mid-stream, then the (new) leader, then start afresh.
    const writing = produce(1200);
    await sleep(300);
    await Promise.all(members.map((m) => m.kill9()));
    await writing;
    const committed = (await admin.describeGroup('g1')).offsets;
    const leader2 = (await admin.describeCluster()).coordinators.find((c) => c.isLeader)!;
    await coordinators.get(leader2.id)!.proc.kill9();
    const kept = await until('offsets on the next leader', async () => {
      const d = await admin.describeGroup('g1');
      return d.offsets;
    });
    for (const c of committed) {
      const k = kept.find((x) => x.partition === c.partition)!;
      expect(k.committed).toBe(c.committed);
    }
    await startCoordinator(leader2.id);
    const fresh = [member(), member(), member()];
    await produce(600);
    await allSeen(members);
    // The fresh members resumed from the committed offsets, not from the beginning.
    expect(fresh.flatMap((m) => m.values).length).toBeLessThan(produced);
  });

  it('two groups read the same topic independently, each from its own offsets', async () => {
    const g1 = (await admin.describeGroup('g1')).offsets;
    const other = member('g2', ['--count', String(produced)]);
    await other.exited;
    expect(new Set(other.values).size).toBe(produced);
    const g2 = await admin.describeGroup('g2');
    expect(g2.lag).toBe(0);
    expect(g2.offsets.reduce((s, o) => s + (o.committed ?? 0), 0)).toBe(produced);
    const g1Again = (await admin.describeGroup('g1')).offsets;
    for (const o of g1) {
      const now = g1Again.find((x) => x.partition === o.partition)!;
      expect(now.committed ?? 0).toBeGreaterThanOrEqual(o.committed ?? 0);
    }
  });

  it('strand group list, describe, reset-offsets (earliest, offset, datetime, latest) and delete', async () => {
    const run = async (...args: string[]) => {
      const r = await promisify(execFile)(process.execPath, [CLI, 'group', ...args, '--json'], {
        env: { ...process.env, STRAND_BOOTSTRAP: bootstrap },
      }).catch((e: { code: number; stdout: string; stderr: string }) => e);
      const code = 'code' in r && typeof r.code === 'number' ? r.code : 0;
      return { code, stdout: r.stdout, stderr: r.stderr };
    };
    const json = async (...args: string[]) => {
      const r = await run(...args);
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout);
    };
    // g2 read everything, committed, and left: inactive, with no lag.
    const listed = (await json('list')) as { groupId: string; state: string; lag: number }[];
    expect(listed.find((g) => g.groupId === 'g2')).toMatchObject({ state: 'EMPTY', lag: 0 });
    const ends = new Map<number, number>(
      (await admin.listOffsets('orders', 'latest')).map((o) => [o.partition, o.offset]),
    );
    const total = [...ends.values()].reduce((a, b) => a + b, 0);

    const early = (await json('reset-offsets', 'g2', '--to-earliest')) as { offset: number }[];
    expect(early).toHaveLength(12);
    expect(early.every((o) => o.offset === 0)).toBe(true);
    expect((await json('describe', 'g2')).lag).toBe(total);

    await json('reset-offsets', 'g2', '--to-offset', '5', '--topic', 'orders');
    const at5 = (await json('describe', 'g2')).offsets as { committed: number }[];
    expect(at5.map((o) => o.committed)).toEqual(Array(12).fill(5));

    // One new record per partition after `since`: resetting to it leaves a lag of 1 each.
    await sleep(20);
    const since = Date.now();
    await sleep(20);
    await Promise.all(
      [...ends.keys()].map((partition) =>
        producer.send({ topic: 'orders', partition, value: `late-${partition}` }),
      ),
    );
    produced += 12;
    const byTime = (await json(
      'reset-offsets',
      'g2',
      '--to-datetime',
      new Date(since).toISOString(),
    )) as { partition: number; offset: number }[];
    for (const o of byTime) expect(o.offset).toBe(ends.get(o.partition));
    expect((await json('describe', 'g2')).lag).toBe(12);

    await json('reset-offsets', 'g2', '--to-latest');
    expect((await json('describe', 'g2')).lag).toBe(0);

    // A group with members cannot be moved or deleted under them.
    const busy = await run('reset-offsets', 'g1', '--to-earliest');
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/GROUP_NOT_EMPTY/);
    expect((await run('delete', 'g1')).stderr).toMatch(/GROUP_NOT_EMPTY/);

    expect(await json('delete', 'g2')).toEqual({ deleted: 'g2' });
    const gone = await run('describe', 'g2');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/UNKNOWN_GROUP/);
  });

  it('static membership: a member restarted under its instance id gets its partitions back with no rebalance; listeners hear every change', async () => {
    const events: string[] = [];
    const fmt = (tps: TopicPartition[]) =>
      tps
        .map((tp) => tp.partition)
        .sort((x, y) => x - y)
        .join(',');
    const listener = (name: string): RebalanceListener => ({
      onAssigned: (tps) => void events.push(`${name} assigned ${fmt(tps)}`),
      onRevoked: (tps) => void events.push(`${name} revoked ${fmt(tps)}`),
      onLost: (tps) => void events.push(`${name} lost ${fmt(tps)}`),
    });
    const running: (() => Promise<void>)[] = [];
    const start = (name: string, instance?: string) => {
      const c = new Consumer({
        bootstrap: bootstrap.split(','),
        groupId: 'g-static',
        ...(instance ? { groupInstanceId: instance } : {}),
        sessionTimeoutMs: 8000,
        heartbeatIntervalMs: 500,
        autoOffsetReset: 'earliest',
        maxWaitMs: 200,
      });
      c.subscribe('orders', listener(name));
      let stopped = false;
      const loop = (async () => {
        while (!stopped) await c.poll(200).catch(() => sleep(100));
      })();
      const stop = async () => {
        stopped = true;
        await loop;
        await c.close();
      };
      running.push(stop);
      return stop;
    };
    const assignedTo = (name: string) =>
      until(`${name} assigned`, async () =>
        events.find((e) => e.startsWith(`${name} assigned `))?.slice(name.length + 10),
      );
    try {
      start('a', 'a');
      const stopB = start('b', 'b');
      const g = await stableWith(2, 'g-static');
      expect(g.members.map((m) => m.groupInstanceId).sort()).toEqual(['a', 'b']);
      const ofB = fmt(g.members.find((m) => m.groupInstanceId === 'b')!.assignment);
      await until('both listeners told', async () =>
        (await assignedTo('a')) && (await assignedTo('b')) === ofB ? true : undefined,
      );

      // A static member's close() does not leave: its partitions wait for it, unread.
      await stopB();
      const quiet = await admin.describeGroup('g-static');
      expect(quiet.generation).toBe(g.generation);
      expect(quiet.members.map((m) => m.groupInstanceId).sort()).toEqual(['a', 'b']);
      start('b again', 'b');
      expect(await assignedTo('b again')).toBe(ofB);
      const back = await stableWith(2, 'g-static');
      expect(back.generation).toBe(g.generation);
      expect(events.filter((e) => e.startsWith('a '))).toHaveLength(1);

      expect(events).toContain(`b revoked ${ofB}`); // closing hands them back locally

      // A dynamic member joining does rebalance: partitions move, and the listeners say which.
      const mark = events.length;
      start('c');
      const three = await stableWith(3, 'g-static', g.generation);
      const ofC = fmt(three.members.find((m) => m.groupInstanceId === '')!.assignment);
      expect(ofC.split(',')).toHaveLength(4);
      await until('c assigned', async () => ((await assignedTo('c')) === ofC ? true : undefined));
      const revoked = events
        .slice(mark)
        .filter((e) => / revoked /.test(e))
        .flatMap((e) => e.split(' revoked ')[1]!.split(',').filter(Boolean));
      expect(revoked.sort()).toEqual(ofC.split(',').sort());
      expect(events.some((e) => / lost /.test(e))).toBe(false);
    } finally {
      await Promise.all(running.map((stop) => stop().catch(() => undefined)));
    }
  });

  it('a member that stops calling poll() for maxPollIntervalMs gives its partitions up long before its session ends, and gets them reported lost', async () => {
    const lost: number[] = [];
    const make = () =>
      new Consumer({
        bootstrap: bootstrap.split(','),
        groupId: 'g-slow',
        sessionTimeoutMs: 120_000,
        heartbeatIntervalMs: 200,
        maxPollIntervalMs: 1500,
        autoOffsetReset: 'earliest',
        maxWaitMs: 200,
      });
    const stuck = make();
    const steady = make();
    stuck.subscribe('orders', {
      onLost: (tps) => void lost.push(...tps.map((tp) => tp.partition)),
    });
    steady.subscribe('orders');
    let stopped = false;
    const steadyLoop = (async () => {
      while (!stopped) await steady.poll(200).catch(() => sleep(100));
    })();
    try {
      // Both poll until the group has settled with two members.
      const settled = until('g-slow with 2 members', async () => {
        const d = await admin.describeGroup('g-slow');
        return d.state === 'STABLE' && d.members.length === 2 ? d : undefined;
      });
      let done = false;
      void settled.finally(() => {
        done = true;
      });
      while (!done) await stuck.poll(100);
      const two = await settled;
      for (const m of two.members) expect(m.assignment).toHaveLength(6);

      // The stuck one stops polling: the steady one gets all 12 long before the 120 s session
      // would have ended (its heartbeats go on; only the poll interval can have removed it).
      const stoppedAt = Date.now();
      const alone = await until(
        'g-slow down to the steady member',
        async () => {
          const d = await admin.describeGroup('g-slow');
          const owned = d.members.flatMap((m) => m.assignment);
          return d.state === 'STABLE' && d.members.length === 1 && owned.length === 12
            ? d
            : undefined;
        },
        60_000,
      );
      expect(Date.now() - stoppedAt).toBeLessThan(60_000);
      expect(alone.generation).toBeGreaterThan(two.generation);

      // Back to polling: what it held is reported lost, and it joins again.
      await until('the stuck member back in', async () => {
        await stuck.poll(100);
        const d = await admin.describeGroup('g-slow');
        return d.state === 'STABLE' && d.members.length === 2 ? true : undefined;
      });
      expect(lost).toHaveLength(6);
    } finally {
      stopped = true;
      await steadyLoop;
      await Promise.all([stuck.close(), steady.close()]);
    }
  });

  it('a group rebalances when its topic gains partitions and when a new topic matches its pattern', async () => {
    await admin.createTopic({ name: 'grow-a', partitions: 2 });
    const consumers = [0, 1].map(
      () =>
        new Consumer({
          bootstrap: bootstrap.split(','),
          groupId: 'g-grow',
          autoOffsetReset: 'earliest',
          maxWaitMs: 200,
        }),
    );
    const got = new Set<string>();
    let stopped = false;
    const loops = consumers.map(async (c) => {
      c.subscribe(/^grow-/);
      while (!stopped)
        for (const r of await c.poll(200).catch(() => []))
          got.add(`${r.topic}-${r.partition}:${r.value?.toString()}`);
    });
    const owning = (n: number, after = 0) =>
      until(`g-grow owning ${n} partitions`, async () => {
        const d = await admin.describeGroup('g-grow');
        const owned = d.members.flatMap((m) =>
          m.assignment.map((tp) => `${tp.topic}-${tp.partition}`),
        );
        return d.state === 'STABLE' &&
          d.members.length === 2 &&
          d.generation > after &&
          owned.length === n &&
          new Set(owned).size === n
          ? d
          : undefined;
      });
    try {
      const first = await owning(2);
      await admin.alterTopic('grow-a', { partitions: 4 });
      const grown = await owning(4, first.generation);
      await admin.createTopic({ name: 'grow-b', partitions: 2 });
      await owning(6, grown.generation);
      const expected = [
        ...[0, 1, 2, 3].map((p) => ({ topic: 'grow-a', partition: p })),
        ...[0, 1].map((p) => ({ topic: 'grow-b', partition: p })),
      ];
      await Promise.all(expected.map((tp) => producer.send({ ...tp, value: 'hello' })));
      await until('a record from every partition', async () =>
        expected.every((tp) => got.has(`${tp.topic}-${tp.partition}:hello`)) ? true : undefined,
      );
    } finally {
      stopped = true;
      await Promise.all(loops);
      await Promise.all(consumers.map((c) => c.close()));
    }
  });

  it('bad input gets clear errors: unknown group, stale generation, commit to an unknown partition', async () => {
    await expect(admin.describeGroup('no-such-group')).rejects.toMatchObject({
      code: 'UNKNOWN_GROUP',
    });
    const cli = await promisify(execFile)(process.execPath, [CLI, 'group', 'describe', 'nope'], {
      env: { ...process.env, STRAND_BOOTSTRAP: bootstrap },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(cli).toMatchObject({ code: 1 });
    expect((cli as { stderr: string }).stderr).toMatch(/UNKNOWN_GROUP: unknown group "nope"/);

    // Raw GroupCoordinator calls against whichever coordinator leads.
    const Ctor = groupService('GroupCoordinator');
    const clients = [...coordinators.values()].map(
      (c) =>
        new Ctor(c.address, grpc.credentials.createInsecure() as never) as unknown as RawClient,
    );
    const call = async <T>(method: string, req: unknown): Promise<T> => {
      for (let attempt = 0; ; attempt++) {
        for (const c of clients) {
          try {
            return await new Promise<T>((resolve, reject) =>
              c[method]!(req, { deadline: Date.now() + 15_000 }, (err: unknown, res: T) =>
                err ? reject(fromGrpcError(err)) : resolve(res),
              ),
            );
          } catch (err) {
            const code = (err as { code: string }).code;
            if (code !== 'NOT_LEADER' && code !== 'UNAVAILABLE') throw err;
          }
        }
        if (attempt > 20) throw new Error('no leader');
        await sleep(200);
      }
    };
    const join = await call<{ generation: number; member_id: string }>('JoinGroup', {
      group_id: 'raw',
      session_timeout_ms: 10_000,
      rebalance_timeout_ms: 10_000,
      subscription: { topics: ['orders'] },
      assignors: ['range'],
    });
    expect(join.generation).toBe(1);
    const commit = (generation: number, partition: number, topic = 'orders') =>
      call('CommitOffsets', {
        group_id: 'raw',
        member_id: join.member_id,
        generation,
        offsets: [{ topic, partition, offset: 1 }],
      });
    await expect(commit(7, 0)).rejects.toMatchObject({
      code: 'STALE_GENERATION',
      message: expect.stringMatching(/generation 7 is stale.*generation 1/),
    });
    await expect(commit(1, 99)).rejects.toMatchObject({
      code: 'UNKNOWN_PARTITION',
      message: expect.stringMatching(/no partition 99 \(it has 12/),
    });
    await expect(commit(1, 0, 'nope')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(
      call('Heartbeat', { group_id: 'raw', member_id: 'ghost', generation: 1 }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_MEMBER_ID' });
    await expect(call('JoinGroup', { group_id: 'bad group!' })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await commit(1, 0);
    await expect(admin.deleteGroup('raw')).rejects.toMatchObject({ code: 'GROUP_NOT_EMPTY' });
    await call('LeaveGroup', { group_id: 'raw', member_id: join.member_id });
    await admin.deleteGroup('raw');
    await expect(admin.describeGroup('raw')).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' });
    for (const c of clients) c.close();
  });
});
