import * as grpc from '@grpc/grpc-js';
import {
  brokerService,
  NotLeaderError,
  StaleBrokerEpochError,
  TimeoutError,
  toErrorFields,
  toGrpcError,
  UnavailableError,
} from '@strand/wire';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PeerClients } from './peer-clients.js';
import { ReplicaFetcher } from './replica-fetcher.js';

type Req = { id: number; partitions: { topic: string }[] };
type Handlers = grpc.UntypedServiceImplementation;

/**
 * A leader whose fetches do what the topic says: "wait:<ms>" answers after that long with the
 * topic's name in its records, "never" does not answer, "stale" answers with an error,
 * "break" fails the whole stream with NOT_LEADER.
 */
class FakeLeader {
  private readonly server = new grpc.Server();
  address = '';
  streams = 0;
  cancelled = 0;
  unary = 0;

  constructor(private readonly streaming: boolean) {}

  private answer(req: Req, send: (res: unknown) => void): void {
    const topic = req.partitions[0]?.topic ?? '';
    const records = Buffer.from(topic);
    const part = { topic, partition: 0, high_watermark: 1, log_start_offset: 0, records };
    if (topic === 'stale')
      send({
        id: req.id,
        partitions: [],
        error: toErrorFields(new StaleBrokerEpochError('epoch 3 is stale')),
      });
    else if (topic.startsWith('wait:'))
      setTimeout(() => send({ id: req.id, partitions: [part] }), Number(topic.slice(5)));
  }

  async start(): Promise<void> {
    await this.startAt('127.0.0.1:0');
  }

  async startAt(address: string): Promise<void> {
    const handlers: Handlers = {
      Fetch: (call: grpc.ServerUnaryCall<Req, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.unary += 1;
        this.answer(call.request, (res) => cb(null, res));
      },
    };
    if (this.streaming)
      handlers.FetchStream = (call: grpc.ServerDuplexStream<Req, unknown>) => {
        this.streams += 1;
        call.on('cancelled', () => {
          this.cancelled += 1;
        });
        call.on('data', (req: Req) => {
          if (req.partitions[0]?.topic === 'break')
            call.emit('error', toGrpcError(new NotLeaderError(3, 'elsewhere:1', 'moved')));
          else this.answer(req, (res) => !call.cancelled && call.write(res));
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      };
    this.server.addService(brokerService('Broker').service, handlers);
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.address = `127.0.0.1:${port}`;
  }

  reset(): void {
    this.streams = 0;
    this.cancelled = 0;
    this.unary = 0;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

const leader = new FakeLeader(true);
const older = new FakeLeader(false);
const peers = new PeerClients();
let fetcher: ReplicaFetcher;

beforeAll(async () => {
  await leader.start();
  await older.start();
});
beforeEach(() => {
  leader.reset();
  older.reset();
  fetcher = new ReplicaFetcher(peers);
  return () => fetcher.close();
});
afterAll(() => {
  peers.close();
  leader.stop();
  older.stop();
});

const req = (topic: string) => ({ replica_id: 2, partitions: [{ topic, partition: 0 }] });
const topicOf = (res: { partitions: { records: Buffer }[] }) =>
  res.partitions[0]?.records.toString();
const until = async (ok: () => boolean) => {
  for (const end = Date.now() + 5000; !ok() && Date.now() < end; )
    await new Promise((r) => setTimeout(r, 10));
  expect(ok()).toBe(true);
};

describe('ReplicaFetcher', () => {
  it('sends every fetch to a leader on one stream and matches answers that come out of order', async () => {
    const order: string[] = [];
    const topics = ['wait:200', 'wait:10', 'wait:80'];
    const answers = await Promise.all(
      topics.map((t) =>
        fetcher.fetch(leader.address, req(t), 5000).then((res) => {
          order.push(t);
          return topicOf(res);
        }),
      ),
    );
    expect(answers).toEqual(topics);
    expect(order).toEqual(['wait:10', 'wait:80', 'wait:200']);
    expect(leader.streams).toBe(1);
    expect(leader.unary).toBe(0);
  });

  it("throws an answer's error as its typed error; the stream goes on", async () => {
    await expect(fetcher.fetch(leader.address, req('stale'), 5000)).rejects.toThrow(
      StaleBrokerEpochError,
    );
    expect(topicOf(await fetcher.fetch(leader.address, req('wait:0'), 5000))).toBe('wait:0');
    expect(leader.streams).toBe(1);
  });

  it('falls back to unary Fetch with a leader that answers FetchStream UNIMPLEMENTED', async () => {
    expect(topicOf(await fetcher.fetch(older.address, req('wait:0'), 5000))).toBe('wait:0');
    expect(topicOf(await fetcher.fetch(older.address, req('wait:5'), 5000))).toBe('wait:5');
    await expect(fetcher.fetch(older.address, req('stale'), 5000)).rejects.toThrow(
      StaleBrokerEpochError,
    );
    expect(older.unary).toBe(3);
    // Another leader still gets a stream.
    await fetcher.fetch(leader.address, req('wait:0'), 5000);
    expect(leader.streams).toBe(1);
    expect(leader.unary).toBe(0);
  });

  it('tries the stream of a leader without one again after a while: upgraded, it streams', async () => {
    const f = new ReplicaFetcher(peers, 100);
    try {
      const upgrading = new FakeLeader(false);
      await upgrading.start();
      expect(topicOf(await f.fetch(upgrading.address, req('wait:0'), 5000))).toBe('wait:0');
      await f.fetch(upgrading.address, req('wait:0'), 5000);
      expect(upgrading.unary).toBe(2);
      upgrading.stop();
      // The same address, now a broker that streams.
      const upgraded = new FakeLeader(true);
      await upgraded.startAt(upgrading.address);
      await new Promise((r) => setTimeout(r, 150));
      let res = await f.fetch(upgraded.address, req('wait:0'), 5000).catch(() => undefined);
      // The channel may still be reconnecting to the restarted address: once more.
      res ??= await f.fetch(upgraded.address, req('wait:0'), 5000);
      expect(topicOf(res)).toBe('wait:0');
      expect(upgraded.streams).toBeGreaterThanOrEqual(1);
      upgraded.stop();
    } finally {
      f.close();
    }
  });

  it('a fetch past its deadline closes its stream: the next fetch gets a new one', async () => {
    const other = fetcher.fetch(leader.address, req('wait:1000'), 5000);
    const otherFailed = expect(other).rejects.toThrow(UnavailableError);
    await expect(fetcher.fetch(leader.address, req('never'), 100)).rejects.toThrow(TimeoutError);
    await otherFailed; // it was on the stuck stream too
    await until(() => leader.cancelled === 1);
    expect(topicOf(await fetcher.fetch(leader.address, req('wait:0'), 5000))).toBe('wait:0');
    expect(leader.streams).toBe(2);
  });

  it('after a stream breaks, its fetches fail typed and the next fetch opens another', async () => {
    const pending = fetcher.fetch(leader.address, req('wait:1000'), 5000);
    const failed = expect(pending).rejects.toThrow(NotLeaderError);
    await expect(fetcher.fetch(leader.address, req('break'), 5000)).rejects.toMatchObject({
      leaderId: 3,
      leaderAddress: 'elsewhere:1',
    });
    await failed;
    expect(topicOf(await fetcher.fetch(leader.address, req('wait:0'), 5000))).toBe('wait:0');
    expect(leader.streams).toBe(2);
  });

  it('after close(), fetches fail and no stream is opened', async () => {
    fetcher.close();
    await expect(fetcher.fetch(leader.address, req('wait:0'), 5000)).rejects.toThrow(/closed/);
    expect(leader.streams).toBe(0);
  });
});
