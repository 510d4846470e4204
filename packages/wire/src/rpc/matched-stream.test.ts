import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotLeaderError, StrandError, TimeoutError, UnavailableError } from '../errors/errors.js';
import { fromGrpcError, toGrpcError } from './errors.js';
import { brokerService } from './load.js';
import { type BreakError, MatchedStream } from './matched-stream.js';

type Req = { id: number; acks: number; partitions: { topic: string }[] };
type Res = { id: number; partitions: { topic: string }[] };

/**
 * A broker whose ProduceStream does what each request's topic says: "wait:<ms>" answers after
 * that long, "never" does not answer, "fail" ends the call with NOT_LEADER, "end" ends it OK.
 */
class FakeBroker {
  private readonly server = new grpc.Server();
  readonly posted: string[] = [];
  address = '';

  async start(): Promise<void> {
    this.server.addService(brokerService('Broker').service, {
      ProduceStream: (call: grpc.ServerDuplexStream<Req, Res>) => {
        call.on('data', (req: Req) => {
          const topic = req.partitions[0]?.topic ?? '';
          if (req.acks === 0) this.posted.push(topic);
          else if (topic === 'fail')
            call.emit('error', toGrpcError(new NotLeaderError(2, 'x:1', 'not the leader')));
          else if (topic === 'end') call.end();
          else if (topic.startsWith('wait:'))
            setTimeout(
              () => {
                if (!call.cancelled) call.write({ id: req.id, partitions: [{ topic }] });
              },
              Number(topic.slice(5)),
            );
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.address = `127.0.0.1:${port}`;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

const broker = new FakeBroker();
let client: grpc.Client & Record<string, () => grpc.ClientDuplexStream<unknown, unknown>>;

beforeAll(async () => {
  await broker.start();
  const Ctor = brokerService('Broker');
  client = new Ctor(broker.address, grpc.credentials.createInsecure()) as typeof client;
});
afterAll(() => {
  client.close();
  broker.stop();
});

const open = (breakError?: BreakError) =>
  new MatchedStream<Res>(() => client.ProduceStream!(), 'produce', breakError);
const req = (topic: string, acks = 1) => ({ acks, partitions: [{ topic, partition: 0 }] });

describe('MatchedStream', () => {
  it('matches answers to requests by id, whatever order they come in', async () => {
    const s = open();
    const order: string[] = [];
    const sent = ['wait:150', 'wait:10', 'wait:60'].map((t) =>
      s.request(req(t), 5000).then((res) => {
        order.push(t);
        return res.partitions[0]?.topic;
      }),
    );
    expect(s.inFlight).toBe(3);
    expect(await Promise.all(sent)).toEqual(['wait:150', 'wait:10', 'wait:60']);
    expect(order).toEqual(['wait:10', 'wait:60', 'wait:150']);
    expect(s.inFlight).toBe(0);
    s.close();
  });

  it('post() resolves once written, with no answer awaited', async () => {
    const s = open();
    await expect(s.post(req('posted', 0))).resolves.toBeUndefined();
    expect(s.inFlight).toBe(0);
    await expect(s.request(req('wait:0'), 5000)).resolves.toMatchObject({ id: 2 });
    expect(broker.posted).toContain('posted');
    s.close();
  });

  it('a request unanswered in time fails alone; the stream goes on and ignores a late answer', async () => {
    const s = open();
    const late = expect(s.request(req('wait:300'), 50)).rejects.toThrow(
      /no produce answer within 50 ms/,
    );
    await expect(s.request(req('never'), 50)).rejects.toThrow(TimeoutError);
    await late;
    expect(s.broken).toBe(false);
    await new Promise((r) => setTimeout(r, 300)); // the late answer arrives meanwhile
    await expect(s.request(req('wait:0'), 5000)).resolves.toMatchObject({ id: 3 });
    s.close();
  });

  it('a stream that errors fails every request in flight with breakError, and takes no more', async () => {
    const seen: boolean[] = [];
    const s = open((err, answered) => {
      seen.push(answered);
      return fromGrpcError(err);
    });
    await s.request(req('wait:0'), 5000);
    const pending = s.request(req('never'), 5000);
    const failing = s.request(req('fail'), 5000);
    await expect(pending).rejects.toThrow(NotLeaderError);
    await expect(failing).rejects.toMatchObject({ leaderId: 2, leaderAddress: 'x:1' });
    expect(seen).toEqual([true]);
    expect(s.broken).toBe(true);
    expect(s.inFlight).toBe(0);
    await expect(s.request(req('wait:0'), 5000)).rejects.toThrow('produce stream closed');
    await expect(s.post(req('x', 0))).rejects.toThrow(UnavailableError);
  });

  it('a stream the server ends fails what is in flight as closed', async () => {
    const s = open(() => new StrandError('INTERNAL', 'not this one'));
    const pending = s.request(req('never'), 5000);
    s.request(req('end'), 5000).catch(() => undefined);
    await expect(pending).rejects.toThrow(UnavailableError);
    await expect(pending).rejects.toThrow('produce stream closed');
    expect(s.broken).toBe(true);
  });

  it('close() fails what is in flight as closed, not as whatever the cancellation says', async () => {
    const s = open(() => new StrandError('INTERNAL', 'not this one'));
    const pending = s.request(req('never'), 5000);
    s.close();
    await expect(pending).rejects.toThrow('produce stream closed');
    expect(s.broken).toBe(true);
    s.close(); // twice is fine
  });

  it('an address nobody listens on breaks the stream at once', async () => {
    const Ctor = brokerService('Broker');
    const nowhere = new Ctor('127.0.0.1:1', grpc.credentials.createInsecure()) as typeof client;
    const s = new MatchedStream<Res>(() => nowhere.ProduceStream!(), 'produce');
    await expect(s.request(req('wait:0'), 5000)).rejects.toThrow(/unreachable/);
    expect(s.broken).toBe(true);
    nowhere.close();
  });
});
