import { readFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { Fetch } from '@strand/kafka-protocol';
import { ProcessRegistry } from '@strand/testkit';
import { brokerService, encodeBatch, splitBatches } from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';
import { RawKafkaClient } from './kafka/client.test-util.js';

// A fetch's answer is bounded whatever it asks for, and so is the memory of all answers
// together, for the broker and for each connection (issue 10, item 4): gRPC and Kafka
// fetches alike, on the same port and the same data plane.

const KiB = 1024;
const MiB = 1024 * KiB;
const MAX_FETCH = 1 * MiB;
const FETCH_MEMORY = 4 * MiB; // a quarter, 1 MiB, per connection
const U32_MAX = 2 ** 32 - 1;

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
interface FetchAnswer {
  partitions: { topic: string; records: Buffer; error: { code: string } | null }[];
}
interface Stats {
  fetch_bytes_in_flight: number;
  fetch_bytes_peak: number;
  fetch_memory_bytes: number;
}

const registry = new ProcessRegistry();
let cluster: TopicCluster;
let address: string;
const clients: AnyClient[] = [];

/** A client on a connection of its own. */
function connect(): AnyClient {
  const Ctor = brokerService('Broker');
  const c = new Ctor(address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': 64 * MiB,
  }) as AnyClient;
  clients.push(c);
  return c;
}

function call<T>(client: AnyClient, method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method]!(req, (err: unknown, res: T) => (err ? reject(err) : resolve(res))),
  );
}

const fetchAll = (
  client: AnyClient,
  parts: { topic: string; offset: number }[],
  maxBytes = U32_MAX,
) =>
  call<FetchAnswer>(client, 'Fetch', {
    max_bytes: maxBytes,
    partitions: parts.map((p) => ({ ...p, partition: 0, max_bytes: U32_MAX })),
  });

const recordBytes = (a: FetchAnswer) => a.partitions.reduce((n, p) => n + p.records.length, 0);
/** A gRPC message as it goes on the wire: uncompressed, its length, its bytes. */
function grpcFrame(body: Buffer): Buffer {
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

/** A raw HTTP/2 call of a Broker method, for a client that behaves as no gRPC library would. */
const grpcRequest = (session: http2.ClientHttp2Session, method: string) =>
  session.request({
    ':method': 'POST',
    ':path': `/strand.broker.v1.Broker/${method}`,
    'content-type': 'application/grpc',
    te: 'trailers',
  });

/** The fetch bytes in flight once they stop changing (and are more than none). */
async function settledInFlight(read: () => Promise<number>): Promise<number> {
  let held = 0;
  for (let previous = -1; held === 0 || held !== previous; ) {
    await new Promise((r) => setTimeout(r, 300));
    previous = held;
    held = await read();
  }
  return held;
}

/** The fetch bytes in flight once they reach none, or what is left after 10 s. */
async function drainedInFlight(read: () => Promise<number>, from: number): Promise<number> {
  let left = from;
  for (const until = Date.now() + 10_000; Date.now() < until && left > 0; ) {
    await new Promise((r) => setTimeout(r, 50));
    left = await read();
  }
  return left;
}

const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 1, {
    brokerArgs: [
      '--max-fetch-bytes',
      String(MAX_FETCH),
      '--fetch-memory-bytes',
      String(FETCH_MEMORY),
      '--max-request-bytes',
      String(4 * MiB),
    ],
  });
  address = cluster.bootstrap[0]!;
  const admin = connect();
  await call(admin, 'CreateTopic', { name: 'wide', partitions: 1, replication_factor: 1 });
  await call(admin, 'CreateTopic', {
    name: 'huge',
    partitions: 1,
    replication_factor: 1,
    configs: { 'max.message.bytes': String(3 * MiB) },
  });
  const produce = (topic: string, records: Buffer) =>
    call(admin, 'Produce', { acks: 1, partitions: [{ topic, partition: 0, records }] });
  // 'wide': 16 batches of 256 KiB; 'huge': one batch of 2.5 MiB, then a small one.
  for (let i = 0; i < 16; i++)
    await produce('wide', encodeBatch([{ value: Buffer.alloc(256 * KiB, i) }]));
  await produce('huge', encodeBatch([{ value: Buffer.alloc(2.5 * MiB, 7) }]));
  await produce('huge', encodeBatch([{ value: 'small' }]));
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await registry.stopAll();
  cluster?.cleanup();
});

describe('fetch bounds', () => {
  it('a fetch asking for 4 GiB, at the request and the partition, gets the broker bound at most', async () => {
    const a = await fetchAll(connect(), [{ topic: 'wide', offset: 0 }]);
    expect(a.partitions[0]!.error).toBeNull();
    const got = recordBytes(a);
    expect(got).toBeGreaterThan(MAX_FETCH / 2);
    expect(got).toBeLessThanOrEqual(MAX_FETCH);
    expect(splitBatches(a.partitions[0]!.records).length).toBe(Math.floor(got / (256 * KiB)));
  });

  it('a partition listed twice is refused, and nothing is read', async () => {
    const err = await fetchAll(connect(), [
      { topic: 'wide', offset: 0 },
      { topic: 'wide', offset: 4 },
    ]).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((err as grpc.ServiceError).details).toMatch(/wide-0 is listed twice/);
  });

  it('a first batch larger than every limit comes whole, alone (KIP-74)', async () => {
    const a = await fetchAll(
      connect(),
      [
        { topic: 'huge', offset: 0 },
        { topic: 'wide', offset: 0 },
      ],
      KiB,
    );
    const [huge, wide] = a.partitions;
    expect(splitBatches(huge!.records).map((b) => b.header.baseOffset)).toEqual([0]);
    expect(huge!.records.length).toBeGreaterThan(2.5 * MiB);
    expect(wide!.error).toBeNull();
    expect(wide!.records.length).toBe(0);
  });

  it('many concurrent fetches on several connections stay within the broker memory bound', async () => {
    const conns = Array.from({ length: 4 }, () => connect());
    const stats = conns[0]!;
    const rssBefore = rssMiB(cluster.brokers.get(1)!.proc.pid);
    // Each waits up to max_wait_ms for room, like a consumer's long poll.
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        call<FetchAnswer>(conns[i % conns.length]!, 'Fetch', {
          max_wait_ms: 20_000,
          min_bytes: 1,
          max_bytes: U32_MAX,
          partitions: [{ topic: 'wide', partition: 0, offset: i % 12, max_bytes: U32_MAX }],
        }),
      ),
    );
    for (const a of answers) {
      expect(a.partitions[0]!.error).toBeNull();
      expect(recordBytes(a)).toBeLessThanOrEqual(MAX_FETCH);
    }
    // Those that waited for memory got data too; none went past the bound.
    expect(answers.filter((a) => recordBytes(a) > 0).length).toBe(60);
    const s = await call<Stats>(stats, 'Stats', {});
    expect(s.fetch_memory_bytes).toBe(FETCH_MEMORY);
    expect(s.fetch_bytes_peak).toBeGreaterThan(0);
    // The one reservation allowed past the bound is the 2.5 MiB batch, earlier and alone.
    expect(s.fetch_bytes_peak).toBeLessThanOrEqual(FETCH_MEMORY + MAX_FETCH);
    expect(s.fetch_bytes_in_flight).toBe(0);
    // Generous: the answers above hold at most a few MiB at a time.
    expect(rssMiB(cluster.brokers.get(1)!.proc.pid) - rssBefore).toBeLessThan(200);
  });

  it('a client that never reads its answers holds only its connection share, others still read, and a cut connection frees it', async () => {
    const stats = connect();
    const session = http2.connect(`http://${address}`);
    session.on('error', () => undefined);
    const body = brokerService('Broker').service.Fetch!.requestSerialize({
      max_bytes: U32_MAX,
      partitions: [{ topic: 'wide', partition: 0, offset: 0, max_bytes: U32_MAX }],
    });
    const frame = grpcFrame(body);
    const streams = Array.from({ length: 10 }, () => {
      const s = grpcRequest(session, 'Fetch');
      s.pause(); // never read: the broker cannot send past the flow-control window
      s.on('error', () => undefined);
      s.end(frame);
      return s;
    });
    const stalled = async () => (await call<Stats>(stats, 'Stats', {})).fetch_bytes_in_flight;
    // Settled: the first answer is read and stuck, the other nine waited for room in vain.
    const held = await settledInFlight(stalled);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(FETCH_MEMORY / 4);
    // Another connection is not starved meanwhile.
    const other = await fetchAll(connect(), [{ topic: 'wide', offset: 0 }]);
    expect(recordBytes(other)).toBeGreaterThan(0);
    expect(await stalled()).toBe(held);
    for (const s of streams) s.destroy();
    session.destroy();
    expect(await drainedInFlight(stalled, held)).toBe(0);
  });
  it('FetchStream: answers a client does not read hold their memory until cancelled, then none', async () => {
    const stats = connect();
    const session = http2.connect(`http://${address}`);
    session.on('error', () => undefined);
    const frames = Array.from({ length: 10 }, (_, i) => {
      const body = brokerService('Broker').service.FetchStream!.requestSerialize({
        id: i + 1,
        max_bytes: U32_MAX,
        partitions: [{ topic: 'wide', partition: 0, offset: i, max_bytes: U32_MAX }],
      });
      return grpcFrame(body);
    });
    const s = grpcRequest(session, 'FetchStream');
    s.pause(); // never read: the answers back up behind the flow-control window
    s.on('error', () => undefined);
    s.write(Buffer.concat(frames));
    const inFlight = async () => (await call<Stats>(stats, 'Stats', {})).fetch_bytes_in_flight;
    const held = await settledInFlight(inFlight);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(FETCH_MEMORY / 4);
    s.destroy();
    session.destroy();
    expect(await drainedInFlight(inFlight, held)).toBe(0);
  });
});

const I32_MAX = 2 ** 31 - 1;
const kafkaFetch = (topic: string, offset: number, maxWaitMs = 0) => ({
  replicaId: -1,
  maxWaitMs,
  minBytes: 0,
  maxBytes: I32_MAX,
  isolationLevel: 0,
  topics: [
    { topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: I32_MAX }] },
  ],
});

describe('fetch bounds over the Kafka protocol', () => {
  it('a Kafka fetch asking for 2 GiB, at the request and the partition, gets the broker bound at most', async () => {
    const c = await RawKafkaClient.connect(address);
    try {
      const a = await c.request(Fetch, 11, kafkaFetch('wide', 0));
      const p = a.responses[0]!.partitions[0]!;
      expect(p.errorCode).toBe(0);
      const got = p.records?.length ?? 0;
      expect(got).toBeGreaterThan(MAX_FETCH / 2);
      expect(got).toBeLessThanOrEqual(MAX_FETCH);
      // A partition listed twice is read and answered once.
      const twice = kafkaFetch('wide', 0);
      twice.topics[0]!.partitions.push({
        partition: 0,
        fetchOffset: 4,
        partitionMaxBytes: I32_MAX,
      });
      const b = await c.request(Fetch, 11, twice);
      expect(b.responses.flatMap((t) => t.partitions)).toHaveLength(1);
      expect(b.responses[0]!.partitions[0]!.records?.length).toBe(got);
    } finally {
      c.close();
    }
  });

  it('a Kafka client that never reads its answers holds only its connection share; a cut connection frees it', async () => {
    const stats = connect();
    const stuck = await RawKafkaClient.connect(address);
    stuck.socket.pause(); // never read: the broker's writes back up behind the socket buffers
    for (let i = 0; i < 40; i++)
      void stuck.request(Fetch, 11, kafkaFetch('wide', i % 12, 2000)).catch(() => undefined);
    const held = async () => (await call<Stats>(stats, 'Stats', {})).fetch_bytes_in_flight;
    const h = await settledInFlight(held);
    expect(h).toBeGreaterThan(0);
    expect(h).toBeLessThanOrEqual(FETCH_MEMORY / 4);
    const other = await RawKafkaClient.connect(address);
    try {
      const a = await other.request(Fetch, 11, kafkaFetch('wide', 0));
      expect(a.responses[0]!.partitions[0]!.records?.length).toBeGreaterThan(0);
    } finally {
      other.close();
    }
    stuck.close();
    expect(await drainedInFlight(held, h)).toBe(0);
  });
});
