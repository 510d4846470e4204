import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { brokerService, kvService } from '@strand/wire';

/** What listens at an address, as far as a cheap call can tell. */
export type Answerer = 'broker' | 'coordinator' | 'other' | 'down';

/** Whether anything accepts a TCP connection at `address` within `timeoutMs`. */
function tcpOpen(address: string, timeoutMs: number): Promise<boolean> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Calls `method` with an empty message: does the server offer it? */
function offers(address: string, method: string, timeoutMs: number): Promise<boolean | undefined> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      { deadline: Date.now() + timeoutMs },
      (err: grpc.ServiceError | null) => {
        client.close();
        if (!err) resolve(true);
        else if (err.code === grpc.status.UNIMPLEMENTED) resolve(false);
        // A Strand error (no controller yet, say) comes from the service itself.
        else if (err.metadata?.get('strand-code').length) resolve(true);
        else if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED)
          resolve(undefined);
        else resolve(true); // it knows the method and refused this call: that is the service
      },
    );
  });
}

/**
 * Which Strand service answers at `address`: a broker (strand.broker.v1.Broker), a
 * coordinator (strand.kv.v1.Cluster), something else, or nothing at all.
 */
export async function whoAnswers(address: string, timeoutMs = 1500): Promise<Answerer> {
  if (!(await tcpOpen(address, timeoutMs))) return 'down';
  const [broker, coordinator] = await Promise.all([
    offers(address, brokerService('Broker').service.DescribeCluster!.path, timeoutMs),
    offers(address, kvService('Cluster').service.Members!.path, timeoutMs),
  ]);
  if (coordinator) return 'coordinator';
  if (broker) return 'broker';
  return 'other';
}
