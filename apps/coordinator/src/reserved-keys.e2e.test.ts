import { type KvClient, ReservedKeyError } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.test-util.js';

const registry = new ProcessRegistry();
let cluster: TestCluster;
let client: KvClient;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  cluster = await startCluster(registry, 1);
  await cluster.leader();
  client = cluster.client();
});
afterAll(async () => {
  await cluster.close();
});

describe('the metadata keyspace /strand/ on a real coordinator', () => {
  it('refuses every user write into it with RESERVED_KEY, changes nothing, and keeps serving', async () => {
    const before = await client.range('/strand/');
    const lease = await client.leaseGrant(60_000);
    const attempts: [string, () => Promise<unknown>][] = [
      ['put', () => client.put('/strand/topics/bogus', 'not json')],
      ['put with a lease', () => client.put('/strand/brokers/1', '{}', { lease })],
      ['delete', () => client.delete('/strand/topics/bogus')],
      ['delete a prefix around it', () => client.delete('/', { prefix: true })],
      ['delete the prefix', () => client.delete('/strand', { prefix: true })],
      ['txn put', () => client.txn([], [{ put: { key: '/strand/groups/g', value: 'x' } }])],
      [
        'txn delete on failure',
        () =>
          client.txn(
            [{ key: 'nothing', target: 'version', op: '>', value: 5 }],
            [],
            [{ delete: { key: '/strand/', prefix: true } }],
          ),
      ],
      ['compare-and-set', () => client.compareAndSet('/strand/producer-ids', null, 'zzz')],
    ];
    for (const [what, attempt] of attempts) {
      const err = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(ReservedKeyError);
      expect((err as ReservedKeyError).code, what).toBe('RESERVED_KEY');
    }
    // Nothing changed; keys outside the prefix (even ones that start alike) are the user's.
    const after = await client.range('/strand/');
    expect(after.kvs.map((kv) => kv.key.toString())).toEqual(
      before.kvs.map((kv) => kv.key.toString()),
    );
    await client.put('/strandx', 'mine');
    await client.put('/stran', 'mine too');
    expect((await client.get('/strandx'))?.value.toString()).toBe('mine');
    await client.delete('/strandx');
    await client.txn([], [{ put: { key: 'app/a', value: '1' } }, { get: { key: '/strand/' } }]);

    // The process outlived a few controller and group ticks and still serves; a restart works.
    await sleep(1500);
    const proc = cluster.procs.get(1)!;
    expect(proc.running).toBe(true);
    expect((await client.get('app/a'))?.value.toString()).toBe('1');
    await proc.terminate();
    await cluster.start(1);
    await cluster.leader();
    expect((await client.get('app/a'))?.value.toString()).toBe('1');
    expect((await client.get('/stran'))?.value.toString()).toBe('mine too');
  });
});
