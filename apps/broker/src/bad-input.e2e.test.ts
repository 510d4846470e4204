import * as grpc from '@grpc/grpc-js';
import { ProcessRegistry } from '@strand/testkit';
import { brokerService, decodeBatches, encodeBatch, Offsets } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

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

async function produce(topic: string, partition: number, records: Buffer) {
  const res = await call<{
    partitions: { base_offset: number; error: Err | null }[];
  }>('Produce', { acks: 1, partitions: [{ topic, partition, records }] });
  return res.partitions[0]!;
}

async function endOffset(topic: string, partition: number): Promise<number> {
  const r = await call<{ partitions: { offset: number; error: Err | null }[] }>('ListOffsets', {
    partitions: [{ topic, partition, spec: 'LATEST' }],
  });
  expect(r.partitions[0]!.error).toBeNull();
  return r.partitions[0]!.offset;
}

const good = () => encodeBatch([{ value: 'a' }, { value: 'b' }, { value: 'c' }]);

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 1, {
    brokerArgs: ['--max-request-bytes', '1048576'],
  });
  const Ctor = brokerService('Broker');
  client = new Ctor(cluster.bootstrap[0]!, grpc.credentials.createInsecure()) as AnyClient;
  await call('CreateTopic', {
    name: 'bad',
    partitions: 2,
    replication_factor: 1,
    configs: { 'max.message.bytes': '4096' },
  });
  expect((await produce('bad', 0, good())).base_offset).toBe(0);
});

afterAll(async () => {
  client?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

describe('bad input straight through gRPC: a typed error, the broker stays up, the log unchanged', () => {
  const rejectsWith = async (records: Buffer, code: string, message: RegExp) => {
    const before = await endOffset('bad', 0);
    const r = await produce('bad', 0, records);
    expect(r.error?.code).toBe(code);
    expect(r.error?.message).toMatch(message);
    expect(await endOffset('bad', 0)).toBe(before);
  };

  it('a corrupt CRC', async () => {
    const b = good();
    b[b.length - 1]! ^= 0xff;
    await rejectsWith(b, 'CORRUPT_BATCH', /CRC mismatch/);
  });

  it('a wrong magic byte', async () => {
    const b = good();
    b[Offsets.magic] = 1;
    await rejectsWith(b, 'CORRUPT_BATCH', /magic 1/);
  });

  it('a batch cut short, and bytes that are no batch at all', async () => {
    await rejectsWith(good().subarray(0, 70), 'CORRUPT_BATCH', /past the end/);
    await rejectsWith(Buffer.from('hello, not a batch'), 'CORRUPT_BATCH', /header/);
  });

  it('one bad batch after a good one rejects the whole append', async () => {
    const bad = good();
    bad[bad.length - 1]! ^= 0xff;
    await rejectsWith(Buffer.concat([good(), bad]), 'CORRUPT_BATCH', /CRC/);
  });

  it("a batch over the topic's max.message.bytes", async () => {
    const big = encodeBatch([{ value: Buffer.alloc(8000, 1) }]);
    await rejectsWith(big, 'RECORD_TOO_LARGE', /exceeds the limit of 4096/);
  });

  it("a request over the broker's max request size is refused by gRPC itself", async () => {
    await expect(produce('bad', 0, Buffer.alloc(2 * 1024 * 1024))).rejects.toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
    });
  });

  it('an unknown topic and an out-of-range partition', async () => {
    expect((await produce('nope', 0, good())).error).toMatchObject({ code: 'UNKNOWN_TOPIC' });
    expect((await produce('bad', 2, good())).error).toMatchObject({
      code: 'UNKNOWN_PARTITION',
      message: expect.stringMatching(/0\.\.1/),
    });
    const f = await call<{ partitions: { error: Err | null }[] }>('Fetch', {
      partitions: [{ topic: 'bad', partition: 9, offset: 0 }],
    });
    expect(f.partitions[0]!.error?.code).toBe('UNKNOWN_PARTITION');
  });

  it('a fetch offset outside the log', async () => {
    const f = await call<{ partitions: { error: Err | null; records: Buffer }[] }>('Fetch', {
      partitions: [{ topic: 'bad', partition: 0, offset: 1000 }],
    });
    expect(f.partitions[0]!.error).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    expect(f.partitions[0]!.records.length).toBe(0);
  });

  it('malformed requests: bad acks, no partitions, bad topic names and configs', async () => {
    await expect(
      call('Produce', { acks: 5, partitions: [{ topic: 'bad', partition: 0, records: good() }] }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(call('Produce', { acks: 1, partitions: [] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(
      call('CreateTopic', { name: 'no/slash', partitions: 1, replication_factor: 1 }),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/topic name/),
    });
    await expect(
      call('CreateTopic', {
        name: 'ok',
        partitions: 1,
        replication_factor: 1,
        configs: { 'retention.ms': 'soon' },
      }),
    ).rejects.toMatchObject({ details: expect.stringMatching(/retention\.ms=soon/) });
    await expect(
      call('CreateTopic', { name: 'ok', partitions: 1, replication_factor: 3 }),
    ).rejects.toMatchObject({
      details: expect.stringMatching(/replication factor 3 is more than the 1 live broker/),
    });
    await expect(call('CreateTopic', { name: 'bad', partitions: 1 })).rejects.toMatchObject({
      code: grpc.status.ALREADY_EXISTS,
    });
  });

  it('FetchStream: answers matched by id in any order, a malformed request alone refused, leases freed', async () => {
    type Answer = {
      id: number;
      partitions: { error: Err | null; records: Buffer }[];
      error: Err | null;
    };
    const stream = (client.FetchStream as () => grpc.ClientDuplexStream<unknown, Answer>)();
    const answers: Answer[] = [];
    stream.on('data', (a: Answer) => answers.push(a));
    const ended = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('error', () => undefined);
    // Partition 1 is empty: this one long-polls for its whole max wait, answered last.
    stream.write({
      id: 1,
      max_wait_ms: 1500,
      min_bytes: 1,
      partitions: [{ topic: 'bad', partition: 1, offset: 0 }],
    });
    stream.write({ id: 3, partitions: [{ topic: 'bad', partition: 0, offset: 0 }] });
    stream.write({ id: 2, partitions: [] });
    stream.write({ id: 4, partitions: [{ topic: 'x'.repeat(300), partition: 0, offset: 0 }] });
    stream.end();
    expect((await ended).code).toBe(grpc.status.OK);
    expect(answers.map((a) => a.id).sort()).toEqual([1, 2, 3, 4]);
    expect(answers.at(-1)?.id).toBe(1);
    const byId = new Map(answers.map((a) => [a.id, a]));
    for (const id of [2, 4]) {
      expect(byId.get(id)?.error?.code).toBe('INVALID_REQUEST');
      expect(byId.get(id)?.partitions).toEqual([]);
    }
    expect(byId.get(3)?.error).toBeNull();
    expect(byId.get(3)?.partitions[0]?.error).toBeNull();
    expect(decodeBatches(byId.get(3)!.partitions[0]!.records)[0]?.records.length).toBe(3);
    expect(byId.get(1)?.error).toBeNull();
    expect(byId.get(1)?.partitions[0]?.records.length).toBe(0);
    const stats = await call<{ fetch_bytes_in_flight: number }>('Stats', {});
    expect(stats.fetch_bytes_in_flight).toBe(0);
  });

  it('after all of it, the broker is up and the log holds exactly the good records', async () => {
    expect(cluster.brokers.get(1)!.proc.running).toBe(true);
    expect((await produce('bad', 0, good())).base_offset).toBe(3);
    const f = await call<{
      partitions: { error: Err | null; records: Buffer; high_watermark: number }[];
    }>('Fetch', { partitions: [{ topic: 'bad', partition: 0, offset: 0 }] });
    expect(f.partitions[0]!.error).toBeNull();
    expect(f.partitions[0]!.high_watermark).toBe(6);
    const values = decodeBatches(f.partitions[0]!.records).flatMap((b) =>
      b.records.map((r) => `${r.offset}:${r.value?.toString()}`),
    );
    expect(values).toEqual(['0:a', '1:b', '2:c', '3:a', '4:b', '5:c']);
  });
});
