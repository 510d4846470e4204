import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Admin, type GroupDescription, Producer } from '@strand/client';
import { freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Cross-protocol groups from a shell: kcat's balanced consumer (librdkafka 2.0.2, Debian's)
// commits offsets that `strand group describe` shows with their lag, resumes from them after a
// restart, and resumes from wherever `strand group reset-offsets` moved them.

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
const COORDINATOR = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));
const BROKER = fileURLToPath(import.meta.resolve('@strand/broker/main'));
const KCAT = '/usr/bin/kcat';
const kcatPresent = existsSync(KCAT);
if (!kcatPresent && process.env.CI === 'true')
  throw new Error(`${KCAT} is missing: .ci/run installs it (apt-get)`);

const registry = new ProcessRegistry();
const dir = tempDir('strand-kafka-groups-');
let bootstrap = '';

beforeAll(async () => {
  const coordinator = `127.0.0.1:${await freePort()}`;
  await registry.start(COORDINATOR, {
    name: 'coordinator',
    args: [
      ...['--id', '1', '--listen', coordinator, '--peers', `1=${coordinator}`],
      ...['--data', join(dir.path, 'coordinator')],
    ],
    readyLine: /listening on/,
  });
  bootstrap = `127.0.0.1:${await freePort()}`;
  await registry.start(BROKER, {
    name: 'broker',
    args: [
      ...['--id', '1', '--listen', bootstrap, '--coordinators', coordinator],
      ...['--data', join(dir.path, 'broker')],
    ],
    readyLine: /broker \d+ listening on/,
  });
  const admin = new Admin({ bootstrap: [bootstrap] });
  await admin.createTopic({ name: 'kc', partitions: 3 });
  await admin.close();
  const producer = new Producer({ bootstrap: [bootstrap] });
  await producer.sendBatch(
    Array.from({ length: 30 }, (_, i) => ({ topic: 'kc', partition: i % 3, value: `kc-${i}` })),
  );
  await producer.close();
}, 60_000);

afterAll(async () => {
  await registry.stopAll();
  dir.cleanup();
});

const exec = promisify(execFile);

/** kcat -G: reads `count` records as a member of `group`, then leaves (committing what it read). */
async function kcatGroup(group: string, count: number, extra: string[] = []): Promise<string[]> {
  const { stdout } = await exec(
    KCAT,
    [
      ...['-b', bootstrap, '-G', group, 'kc', '-c', String(count), '-q', '-f', '%s\\n'],
      ...['-X', 'auto.offset.reset=earliest', ...extra],
    ],
    { timeout: 60_000 },
  );
  return stdout.split('\n').filter(Boolean);
}

async function strand(...args: string[]): Promise<unknown> {
  const { stdout } = await exec(process.execPath, [CLI, ...args, '--json'], {
    env: { ...process.env, STRAND_BOOTSTRAP: bootstrap },
  });
  return JSON.parse(stdout);
}

describe('kcat balanced consumers and the strand CLI share a group', () => {
  it.skipIf(!kcatPresent)(
    'committed offsets, lag, resume after a restart, and reset-offsets',
    async () => {
      const first = await kcatGroup('kc-group', 18);
      expect(first).toHaveLength(18);
      const d = (await strand('group', 'describe', 'kc-group')) as GroupDescription;
      expect(d).toMatchObject({ state: 'EMPTY', protocolType: 'consumer' });
      const committed = d.offsets.filter((o) => o.committed !== null);
      expect(committed.reduce((n, o) => n + o.committed!, 0)).toBe(18);
      // Lag counts the partitions it committed (each holds 10 records).
      for (const o of committed)
        expect(o).toMatchObject({ logEndOffset: 10, lag: 10 - o.committed! });
      expect(d.lag).toBe(committed.reduce((n, o) => n + o.lag!, 0));

      // A restarted consumer resumes from the committed offsets: exactly the other 12.
      const second = await kcatGroup('kc-group', 12);
      expect([...first, ...second].sort()).toEqual(
        Array.from({ length: 30 }, (_, i) => `kc-${i}`).sort(),
      );
      expect(((await strand('group', 'describe', 'kc-group')) as GroupDescription).lag).toBe(0);

      // strand moves them back; kcat then reads everything again.
      await strand('group', 'reset-offsets', 'kc-group', '--to-offset', '5', '--topic', 'kc');
      const listed = (await strand('group', 'list')) as { groupId: string; lag: number }[];
      expect(listed.find((g) => g.groupId === 'kc-group')?.lag).toBe(15);
      const third = await kcatGroup('kc-group', 15);
      expect(third.map((v) => Number(v.slice(3)) % 3).sort()).toEqual([
        ...Array(5).fill(0),
        ...Array(5).fill(1),
        ...Array(5).fill(2),
      ]);
      expect(third.every((v) => Number(v.slice(3)) >= 15)).toBe(true); // offsets 5..9 of each
    },
  );

  it.skipIf(!kcatPresent)(
    'static membership: a restarted instance takes its place again, same generation, no rebalance',
    async () => {
      const staticMember = ['-X', 'group.instance.id=kcat-1', '-X', 'session.timeout.ms=30000'];
      expect(await kcatGroup('kc-static', 3, staticMember)).toHaveLength(3);
      // A static member does not leave on close: the group keeps its place for it.
      const before = (await strand('group', 'describe', 'kc-static')) as GroupDescription;
      expect(before).toMatchObject({ state: 'STABLE', generation: 1 });
      expect(before.members.map((m) => m.groupInstanceId)).toEqual(['kcat-1']);
      expect(await kcatGroup('kc-static', 3, staticMember)).toHaveLength(3);
      const after = (await strand('group', 'describe', 'kc-static')) as GroupDescription;
      expect(after).toMatchObject({ state: 'STABLE', generation: 1 });
      expect(after.members[0]!.memberId).not.toBe(before.members[0]!.memberId);
      expect(after.members[0]!.assignment).toEqual(before.members[0]!.assignment);
      expect(after.offsets.reduce((n, o) => n + (o.committed ?? 0), 0)).toBe(6);
    },
  );
});
