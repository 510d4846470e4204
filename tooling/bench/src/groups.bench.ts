import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, type AssignorName, Consumer } from '@strand/client';
import { coordinatorLayout, freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import { ErrorTally, formatScaleRow, scaleRow } from './groups-scale.js';
import { envNumber } from './util.js';

const COORDINATOR = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));
const BROKER = fileURLToPath(import.meta.resolve('@strand/broker/main'));

/**
 * Consumer groups on 3 coordinators (Raft, synced) and 1 broker, all separate processes:
 * offset commits per second with many groups committing at once, and how long a group of
 * members takes to hand out partitions again when one more member joins; then the scale rows
 * (STRAND_BENCH_GROUPS_SCALE_GROUPS x STRAND_BENCH_GROUPS_SCALE_MEMBERS, lists; "none" skips).
 */
export default async function groupsBench(): Promise<void> {
  const groups = envNumber('STRAND_BENCH_GROUPS', 100);
  const seconds = envNumber('STRAND_BENCH_GROUPS_SECONDS', 10);
  const perCommit = envNumber('STRAND_BENCH_GROUPS_PARTITIONS_PER_COMMIT', 10);
  const registry = new ProcessRegistry();
  const dir = tempDir('strand-groups-bench-');
  try {
    const layout = await coordinatorLayout(3);
    const { ids, clients: addr } = layout;
    await Promise.all(
      ids.map((id) =>
        registry.start(COORDINATOR, {
          args: [
            ...layout.args(id),
            ...['--data', join(dir.path, `c${id}`), '--group-initial-rebalance-delay-ms', '0'],
          ],
          readyLine: /listening on/,
        }),
      ),
    );
    const broker = `127.0.0.1:${await freePort()}`;
    await registry.start(BROKER, {
      args: [
        ...['--id', '1', '--listen', broker, '--data', join(dir.path, 'b1')],
        ...['--coordinators', [...addr.values()].join(',')],
      ],
      readyLine: /broker \d+ listening on/,
    });
    const bootstrap = [broker];
    const admin = new Admin({ bootstrap });
    await admin.createTopic({ name: 'bench-groups', partitions: 100 });

    // 1. Offset commits: `groups` groups, one committer each, one commit in flight per group.
    const committers = Array.from(
      { length: groups },
      (_, g) => new Consumer({ bootstrap, groupId: `bench-${g}`, autoCommit: false }),
    );
    await Promise.all(
      committers.map((c) => c.commit([{ topic: 'bench-groups', partition: 0, offset: 0 }])),
    );
    let commits = 0;
    const errors = new ErrorTally();
    const latencies: number[] = [];
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    await Promise.all(
      committers.map(async (c, g) => {
        for (let i = 1; performance.now() < deadline; i++) {
          const offsets = Array.from({ length: perCommit }, (_, k) => ({
            topic: 'bench-groups',
            partition: (g + k) % 100,
            offset: i,
          }));
          const t = performance.now();
          try {
            await c.commit(offsets);
            latencies.push(performance.now() - t);
            commits++;
          } catch (err) {
            errors.add(err);
          }
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.floor((p / 100) * (latencies.length - 1))] ?? 0;
    console.log(
      `offset commits (${groups} groups concurrently, ${perCommit} partitions each, 3 coordinators, synced): ${(commits / elapsed).toFixed(0)} commits/s = ${((commits * perCommit) / elapsed).toFixed(0)} offsets/s`,
    );
    console.log(
      `commit latency p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, errors ${errors.count}${errors}${errors.messages()}`,
    );
    await Promise.all(committers.map((c) => c.close()));

    // 2. Rebalance: 9 members on 100 partitions, then a 10th joins.
    for (const assignor of ['range', 'cooperative-sticky'] as AssignorName[]) {
      const ms = await rebalanceOnce(bootstrap, assignor);
      console.log(
        `rebalance, 10th member joins a group of 9 on 100 partitions (${assignor}, heartbeat 100 ms): ${ms.toFixed(0)} ms until all 10 hold their partitions`,
      );
    }

    // 3. Scale: rebalance time and commit rate as groups and members per group grow.
    const scaleGroups = envList('STRAND_BENCH_GROUPS_SCALE_GROUPS', [1, 10, 100]);
    const scaleMembers = envList('STRAND_BENCH_GROUPS_SCALE_MEMBERS', [1, 10, 50]);
    const scaleSeconds = envNumber('STRAND_BENCH_GROUPS_SCALE_SECONDS', 3);
    if (scaleGroups.length > 0 && scaleMembers.length > 0)
      console.log(
        `scale (range, probe group heartbeat 100 ms, the others 1 s; every member commits its partitions, one in flight each, for ${scaleSeconds} s):`,
      );
    for (const g of scaleGroups)
      for (const m of scaleMembers)
        console.log(formatScaleRow(await scaleRow(bootstrap, 'bench-groups', g, m, scaleSeconds)));
    await admin.close();
  } finally {
    await registry.stopAll();
    dir.cleanup();
  }
}

async function rebalanceOnce(bootstrap: string[], assignor: AssignorName): Promise<number> {
  const group = `rebalance-${assignor}`;
  let stop = false;
  const loops: Promise<void>[] = [];
  const members: Consumer[] = [];
  const add = () => {
    const c = new Consumer({
      bootstrap,
      groupId: group,
      assignors: [assignor],
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 100,
      autoOffsetReset: 'latest',
    });
    c.subscribe('bench-groups');
    members.push(c);
    loops.push(
      (async () => {
        while (!stop) await c.poll(50).catch(() => undefined);
      })(),
    );
  };
  const settled = async (n: number) => {
    for (;;) {
      const owned = members.flatMap((c) => c.assignment().map((tp) => tp.partition));
      if (members.length === n && owned.length === 100 && new Set(owned).size === 100) {
        if (members.every((c) => c.assignment().length >= 9)) return;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  for (let i = 0; i < 9; i++) add();
  await settled(9);
  const t = performance.now();
  add();
  await settled(10);
  const ms = performance.now() - t;
  stop = true;
  await Promise.all(loops);
  await Promise.all(members.map((c) => c.close()));
  return ms;
}

function envList(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'none') return [];
  const list = raw.split(',').map(Number);
  if (!list.every((n) => Number.isInteger(n) && n > 0))
    throw new Error(`${name} must be a comma-separated list of positive integers, got ${raw}`);
  return list;
}
