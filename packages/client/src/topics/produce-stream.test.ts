import * as grpc from '@grpc/grpc-js';
import {
  AuthenticationFailedError,
  brokerService,
  toGrpcError,
  UnavailableError,
} from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProduceStream } from './produce-stream.js';

type Req = { id: number; partitions: { topic: string }[] };

/** A ProduceStream that answers topic "ok" and refuses the call as unauthenticated on "deny". */
const server = new grpc.Server();
let client: grpc.Client & Record<string, () => grpc.ClientDuplexStream<unknown, unknown>>;

beforeAll(async () => {
  server.addService(brokerService('Broker').service, {
    ProduceStream: (call: grpc.ServerDuplexStream<Req, unknown>) => {
      call.on('data', (req: Req) => {
        if (req.partitions[0]?.topic === 'ok') call.write({ id: req.id, partitions: [] });
        else call.emit('error', toGrpcError(new AuthenticationFailedError('who are you')));
      });
      call.on('error', () => undefined);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  client = new (brokerService('Broker'))(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  ) as typeof client;
});
afterAll(() => {
  client.close();
  server.forceShutdown();
});

const open = () => new ProduceStream(() => client.ProduceStream!(), 5000);
const req = (topic: string) => ({
  acks: 1,
  timeout_ms: 1000,
  partitions: [{ topic, partition: 0, records: Buffer.alloc(0) }],
});

describe('ProduceStream', () => {
  it('refused for want of authentication before any answer: that error, not a retriable one', async () => {
    const s = open();
    const err = await s.send(req('deny')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationFailedError);
    expect(s.broken).toBe(true);
  });

  it('broken after answers: retriable, since what was in flight may have been appended', async () => {
    const s = open();
    await expect(s.send(req('ok'))).resolves.toMatchObject({ id: 1 });
    const err = await s.send(req('deny')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/may or may not have been appended/);
  });
});
