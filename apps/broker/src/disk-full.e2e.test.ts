import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { KvClient } from '@strand/client';
import { mountSmallFilesystem, ProcessRegistry, type SmallFilesystem } from '@strand/testkit';
import { brokerService, encodeBatch, splitBatches } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

// A coordinator and a broker sharing one small disk (strand dev's layout), filled up: writes
// are refused with STORAGE_FULL and nothing refused is kept, reads and a topic's deletion
// still work, both processes stay up, stop on SIGTERM and start again on the full disk, and
// writes resume by themselves once space is back (issue 10, items 5 and 6).

const MiB = 1024 * 1024;
const mounted = mountSmallFilesystem(96 * MiB);
const fsys = typeof mounted === 'string' ? undefined : mounted;
if (typeof mounted === 'string') console.warn(`disk-full e2e test does not run: ${mounted}`);

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
interface Err {
  code: string;
  message: string;
}

const registry = new ProcessRegistry();
let cluster: TopicCluster;
let client: AnyClient;

function call<T>(method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method]!(req, (err: unknown, res: T) => (err ? reject(err) : resolve(res))),
  );
}

async function produce(
  topic: string,
  records: Buffer,
): Promise<{ base_offset: number; error: Err | null }> {
  const r = await call<{ partitions: { base_offset: number; error: Err | null }[] }>('Produce', {
    acks: 1,
    partitions: [{ topic, partition: 0, records }],
  });
  return r.partitions[0]!;
}

async function values(topic: string): Promise<string[]> {
  const r = await call<{ partitions: { records: Buffer; error: Err | null }[] }>('Fetch', {
    max_bytes: 8 * MiB,
    partitions: [{ topic, partition: 0, offset: 0, max_bytes: 8 * MiB }],
  });
  expect(r.partitions[0]!.error).toBeNull();
  return splitBatches(r.partitions[0]!.records).map((b) => `${b.header.baseOffset}`);
}

/**
 * Free bytes, the processes' reserve files counted as free: each gives its reserve back when
 * the disk fills and writes it again once there is room (so, after a deletion, at any moment).
 */
function freeOrReserved(fs: SmallFilesystem): number {
  let bytes = fs.freeBytes();
  for (const dir of ['broker-1', 'coordinator-1'])
    for (const file of ['disk-reserve', 'disk-reserve.tmp'])
      bytes += statSync(join(fs.path, dir, file), { throwIfNoEntry: false })?.size ?? 0;
  return bytes;
}

/** The Strand code of an SDK error, or of a raw gRPC one (carried in its metadata). */
const codeOf = (err: unknown) =>
  (err as grpc.ServiceError).metadata?.get('strand-code')[0] ?? (err as { code?: unknown }).code;

async function eventually<T>(
  what: string,
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
): Promise<T> {
  let last: unknown;
  for (const until = Date.now() + 30_000; Date.now() < until; ) {
    try {
      const v = await fn();
      if (ok(v)) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} never happened; last: ${JSON.stringify(last)}`);
}

beforeAll(async () => {
  if (!fsys) return;
  const reserve = ['--disk-reserve-bytes', String(4 * MiB)];
  cluster = await startTopicCluster(registry, 1, {
    dataDir: fsys.path,
    brokerArgs: reserve,
    coordinatorArgs: reserve,
  });
  client = new (brokerService('Broker'))(
    cluster.bootstrap[0]!,
    grpc.credentials.createInsecure(),
  ) as AnyClient;
}, 60_000);

afterAll(async () => {
  client?.close();
  await registry.stopAll();
  cluster?.cleanup();
  fsys?.cleanup();
});

describe.skipIf(!fsys)('a full disk shared by the coordinator and the broker', () => {
  it('refuses writes, keeps serving reads and deletes, survives restarts, and recovers by itself', async () => {
    const fs = fsys!;
    const kv = new KvClient({ bootstrap: [cluster.coordinator], timeoutMs: 3000 });
    await call('CreateTopic', { name: 'keep', partitions: 1, replication_factor: 1 });
    await call('CreateTopic', {
      name: 'doomed',
      partitions: 1,
      replication_factor: 1,
      configs: { 'max.message.bytes': String(2 * MiB) },
    });
    for (let i = 0; i < 3; i++)
      expect((await produce('keep', encodeBatch([{ value: `k${i}` }]))).base_offset).toBe(i);
    for (let i = 0; i < 12; i++)
      expect(
        (await produce('doomed', encodeBatch([{ value: Buffer.alloc(MiB, i) }]))).error,
      ).toBeNull();
    await kv.put('before', 'yes');

    fs.fill();
    let broker = cluster.brokers.get(1)!.proc;
    let coordinator = cluster.coordinators.get(1)!.proc;
    await broker.waitFor(/disk full in/);
    await coordinator.waitFor(/disk full in/);

    // Refused, typed, and not written.
    const refused = await produce('keep', encodeBatch([{ value: Buffer.alloc(100 * 1024) }]));
    expect(refused.error?.code).toBe('STORAGE_FULL');
    expect(await values('keep')).toEqual(['0', '1', '2']);
    expect(codeOf(await kv.put('after', 'no').catch((e: unknown) => e))).toBe('STORAGE_FULL');
    expect((await kv.get('before'))?.value.toString()).toBe('yes');
    expect(
      codeOf(
        await call('CreateTopic', { name: 'new', partitions: 1, replication_factor: 1 }).catch(
          (e: unknown) => e,
        ),
      ),
    ).toBe('STORAGE_FULL');

    // SIGTERM on the full disk: a clean exit, then a start on the same full disk.
    expect(await broker.terminate(30_000)).toBe(0);
    expect(broker.output()).not.toMatch(/unhandled|fatal/i);
    broker = await cluster.startBroker(1);
    expect(await values('keep')).toEqual(['0', '1', '2']);
    expect(await coordinator.terminate(30_000)).toBe(0);
    coordinator = await cluster.startCoordinator(1);
    expect(
      (
        await eventually(
          'a read after the restart',
          () => kv.get('before'),
          (v) => v !== undefined,
        )
      )?.value.toString(),
    ).toBe('yes');
    expect(
      (await produce('keep', encodeBatch([{ value: Buffer.alloc(100 * 1024) }]))).error?.code,
    ).toBe('STORAGE_FULL');

    // Deleting a topic on the full disk removes its data at once.
    const dir = join(cluster.logDir(1), 'doomed-0');
    expect(existsSync(dir)).toBe(true);
    const free = freeOrReserved(fs);
    await call('DeleteTopic', { name: 'doomed' });
    await eventually(
      'the deleted topic gone from disk',
      async () => existsSync(dir),
      (v) => !v,
    );
    expect(freeOrReserved(fs)).toBeGreaterThan(free + 10 * MiB);

    // Space is back: writes resume with no restart.
    fs.unfill();
    const ok = await eventually(
      'a produce after space came back',
      () => produce('keep', encodeBatch([{ value: 'k3' }])),
      (r) => r.error === null,
    );
    expect(ok.base_offset).toBe(3);
    await eventually(
      'a KV put after space came back',
      () => kv.put('after', 'yes'),
      () => true,
    );
    expect(await values('keep')).toEqual(['0', '1', '2', '3']);
    for (const p of [broker, coordinator]) {
      expect(p.running).toBe(true);
      expect(p.output()).not.toMatch(/unhandled|fatal storage error/i);
    }
    kv.close();
  }, 180_000);
});
