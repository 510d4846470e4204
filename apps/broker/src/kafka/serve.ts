import type { Socket } from 'node:net';
import { verifiedPeerName } from '@strand/wire';
import { KafkaConnection } from './connection.js';
import type { KafkaDeps } from './deps.js';
import { KAFKA_HANDLERS } from './handlers/index.js';
import { KafkaService } from './service.js';
import { KafkaSession } from './session.js';

/** Requests and unsent answers a connection may hold before it stops reading (per connection). */
const MAX_INFLIGHT_BYTES = 64 * 1024 * 1024;
const MAX_INFLIGHT_REQUESTS = 1000;

/** The broker's Kafka protocol: a function that takes each new client connection. */
export function serveKafka(deps: KafkaDeps): (socket: Socket) => void {
  const service = new KafkaService(deps, KAFKA_HANDLERS);
  const { maxRequestBytes, connectionsMaxIdleMs } = deps.config;
  let connections = 0;
  return (socket) => {
    const id = `kafka-${++connections}`;
    const remoteAddress = socket.remoteAddress ?? '';
    const certificateName = verifiedPeerName(socket);
    let connection: KafkaConnection | undefined;
    const session = new KafkaSession(
      deps.security,
      { id, remoteAddress, ...(certificateName ? { certificateName } : {}) },
      (why) => {
        deps.log(
          { connection: id, remote: remoteAddress, reason: why },
          'kafka: closing a connection',
        );
        connection?.close();
      },
      maxRequestBytes,
    );
    const refusal = session.refusal;
    if (refusal) {
      deps.security.complain('kafka: refused a connection', refusal, { remote: remoteAddress });
      socket.destroy();
      return;
    }
    deps.metrics?.connectionOpened();
    socket.once('close', () => {
      session.close();
      deps.metrics?.connectionClosed();
    });
    const limits = {
      maxRequestBytes: () => session.maxFrameBytes(),
      maxInflightBytes: Math.max(MAX_INFLIGHT_BYTES, maxRequestBytes),
      maxInflightRequests: MAX_INFLIGHT_REQUESTS,
      idleMs: connectionsMaxIdleMs,
    };
    const info = { clientHost: `/${remoteAddress}`, id, session };
    connection = new KafkaConnection(
      socket,
      limits,
      (frame) => service.handle(frame, info),
      deps.log,
    );
  };
}
