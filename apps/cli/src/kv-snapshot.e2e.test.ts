import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, type KeyValue, KvClient, Producer } from '@strand/client';
import {
  coordinatorLayout,
  eventually,
  freePort,
  type NodeProcess,
  ProcessRegistry,
  tempDir,
} from '@strand/testkit';
import { readSnapshotFile } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, exec } from './cli.test-util.js';

const COORDINATOR = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));
const BROKER = fileURLToPath(import.meta.resolve('@strand/broker/main'));

const registry = new ProcessRegistry();
const dir = tempDir('strand-kv-snapshot-');
const clients: KvClient[] = [];
const strand = (args: string[], bootstrap?: string) =>
  exec(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...(bootstrap ? { STRAND_KV_BOOTSTRAP: bootstrap } : {}) },
  });
const kvClient = (bootstrap: string[]) => {
  const c = new KvClient({ bootstrap, timeoutMs: 5000, retries: 10 });
  clients.push(c);
  return c;
};
/** Every key of the store (all keys here are text, below 0xff). */
const everything = (kv: KvClient) => kv.range(Buffer.from([0]), { end: Buffer.from([0xff]) });
const asText = (kvs: KeyValue[]) =>
  kvs.map((kv) => ({
    key: kv.key.toString('latin1'),
    value: kv.value.toString('base64'),
    version: kv.version,
    mod: kv.modRevision,
  }));

/** Three coordinators on free ports with their data under `name`. */
async function startCoordinators(
  name: string,
  prepare?: (id: number, dataDir: string, peers: string) => Promise<void>,
): Promise<{ procs: NodeProcess[]; bootstrap: string[]; peers: string }> {
  const layout = await coordinatorLayout(3);
  const peers = layout.ids.map((id) => `${id}=${layout.clients.get(id)}`).join(',');
  for (const id of layout.ids) await prepare?.(id, join(dir.path, `${name}-${id}`), peers);
  const procs = await Promise.all(
    layout.ids.map((id) =>
      registry.start(COORDINATOR, {
        name: `${name}-coordinator-${id}`,
        args: [...layout.args(id), '--data', join(dir.path, `${name}-${id}`)],
        readyLine: /listening on/,
        readyTimeoutMs: 60_000,
      }),
    ),
  );
  return { procs, bootstrap: [...layout.clients.values()], peers };
}

let old: Awaited<ReturnType<typeof startCoordinators>>;
let broker: NodeProcess;

beforeAll(async () => {
  old = await startCoordinators('old');
  const address = `127.0.0.1:${await freePort()}`;
  broker = await registry.start(BROKER, {
    name: 'broker-1',
    args: [
      ...['--id', '1', '--listen', address, '--data', join(dir.path, 'broker-1')],
      ...['--coordinators', old.bootstrap.join(',')],
    ],
    readyLine: /broker \d+ listening on/,
    readyTimeoutMs: 60_000,
  });
  const admin = new Admin({ bootstrap: [address] });
  const producer = new Producer({ bootstrap: [address], lingerMs: 1 });
  try {
    await admin.createTopic({ name: 'orders', partitions: 3 });
    for (let i = 0; i < 30; i++)
      await producer.send({ topic: 'orders', key: `k${i}`, value: `v${i}` });
    await admin.resetGroupOffsets('billing', { offset: 4 }, { topic: 'orders' });
  } finally {
    await producer.close();
    await admin.close();
  }
  const kv = kvClient(old.bootstrap);
  for (let i = 0; i < 200; i++) await kv.put(`app/${i}`, `value-${i}`);
  await kv.put('app/binary', Buffer.from([0, 1, 2, 255]));
  await kv.put('app/3', 'rewritten');
  await kv.delete('app/7');
  // A quiet store: the broker gone (deregistered), nothing else writes.
  await broker.terminate();
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await registry.stopAll();
  dir.cleanup();
});

describe('strand kv snapshot save / restore', () => {
  const file = join(dir.path, 'backup.snap');
  let saved: KeyValue[] = [];

  it('saves a consistent snapshot from the leader, with the revision it holds', async () => {
    const kv = kvClient(old.bootstrap);
    // Wait until the store stops moving (the controller's last writes after the broker left).
    let revision = -1;
    await eventually(
      'a quiet store',
      async () => {
        const r = await everything(kv);
        const same = r.revision === revision;
        revision = r.revision;
        return same;
      },
      30_000,
      1000,
    );
    const r = await strand(['kv', 'snapshot', 'save', file, '--json'], old.bootstrap[2]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { revision: number; index: number; bytes: number };
    const after = await everything(kv);
    expect(out.revision).toBe(after.revision);
    saved = after.kvs;
    const keys = saved.map((k) => k.key.toString());
    expect(keys).toContain('app/199');
    expect(keys).not.toContain('app/7');
    expect(keys.some((k) => k.startsWith('/strand/topics/orders'))).toBe(true);
    // Committed offsets are unversioned rows, which a range does not return: the file has them.
    const body = JSON.parse(readSnapshotFile(readFileSync(file)).body.toString()) as {
      rows: [string, string][];
    };
    const rows = body.rows.map(([k]) => Buffer.from(k, 'base64').toString());
    expect(rows.filter((k) => k.startsWith('/strand/offsets/billing/orders/'))).toHaveLength(3);
    const status = await strand(['kv', 'snapshot', 'status', file, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ revision: out.revision, bytes: out.bytes });
  }, 60_000);

  it('refuses a damaged or truncated file and a folder that is not empty, writing nothing', async () => {
    const bytes = readFileSync(file);
    const damaged = join(dir.path, 'damaged.snap');
    const copy = Buffer.from(bytes);
    copy[Math.floor(copy.length / 2)] = copy[Math.floor(copy.length / 2)]! ^ 0x01;
    writeFileSync(damaged, copy);
    const truncated = join(dir.path, 'truncated.snap');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    const args = (f: string, d: string) => [
      ...['kv', 'snapshot', 'restore', f, '--name', '1', '--data-dir', join(dir.path, d)],
      ...['--initial-cluster', '1=127.0.0.1:1'],
    ];
    const bad = await strand(args(damaged, 'bad-1'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/CORRUPT_SNAPSHOT.*SHA-256 does not match/);
    const cut = await strand(args(truncated, 'bad-2'));
    expect(cut.code).not.toBe(0);
    expect(cut.stderr).toMatch(/CORRUPT_SNAPSHOT.*truncated/);
    expect((await strand(['kv', 'snapshot', 'status', damaged])).code).not.toBe(0);
    const busy = join(dir.path, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'something'), 'x');
    const full = await strand(args(file, 'busy'));
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/exists and is not empty/);
    expect(readdirSync(dir.path).join(' ')).not.toMatch(/bad-1|bad-2|restoring/);
  }, 60_000);

  it('restores into a new 3-node cluster that reads every key back with the same values', async () => {
    const fresh = await startCoordinators('new', async (id, dataDir, peers) => {
      const r = await strand([
        ...['kv', 'snapshot', 'restore', file, '--name', String(id), '--data-dir', dataDir],
        ...['--initial-cluster', peers, '--json'],
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(readFileSync(join(dataDir, 'strand-data-format.json'), 'utf8')).toMatch(
        /"kind":"coordinator"/,
      );
    });
    const oldId = readFileSync(join(dir.path, 'old-1', 'cluster.id'), 'utf8');
    const ids = fresh.procs.map((_, i) =>
      readFileSync(join(dir.path, `new-${i + 1}`, 'cluster.id'), 'utf8'),
    );
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).not.toBe(oldId);
    const kv = kvClient(fresh.bootstrap);
    const restored = await eventually('the restored cluster answers', () => everything(kv));
    // Keys on a lease may expire in the new cluster as in the old (its TTL restarts there).
    const durable = (kvs: KeyValue[]) => asText(kvs.filter((k) => k.lease === 0));
    expect(durable(restored.kvs)).toEqual(durable(saved));
    expect(durable(restored.kvs).length).toBeGreaterThan(200);
    const leased = asText(restored.kvs.filter((k) => k.lease !== 0));
    expect(asText(saved)).toEqual(expect.arrayContaining(leased));
    // The new cluster takes writes, on top of the restored revision.
    const w = await kv.put('after/restore', 'yes');
    expect(w.revision).toBeGreaterThan(Math.max(...saved.map((k) => k.modRevision)));
  }, 120_000);
});
