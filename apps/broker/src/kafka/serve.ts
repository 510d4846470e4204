import type { Socket } from 'node:net';
import { KafkaConnection } from './connection.js';
import type { KafkaDeps } from './deps.js';
import { KAFKA_HANDLERS } from './handlers/index.js';
import { KafkaService } from './service.js';

/** Requests and unsent answers a connection may hold before it stops reading (per connection). */
const MAX_INFLIGHT_BYTES = 64 * 1024 * 1024;
const MAX_INFLIGHT_REQUESTS = 1000;

/** The broker's Kafka protocol: a function that takes each new client connection. */
export function serveKafka(deps: KafkaDeps): (socket: Socket) => void {
  const service = new KafkaService(deps, KAFKA_HANDLERS);
  const limits = {
    maxRequestBytes: deps.config.maxRequestBytes,
    maxInflightBytes: Math.max(MAX_INFLIGHT_BYTES, deps.config.maxRequestBytes),
    maxInflightRequests: MAX_INFLIGHT_REQUESTS,
    idleMs: deps.config.connectionsMaxIdleMs,
  };
  let connections = 0;
  return (socket) => {
    const conn = { clientHost: `/${socket.remoteAddress ?? ''}`, id: `kafka-${++connections}` };
    deps.metrics?.connectionOpened();
    socket.once('close', () => deps.metrics?.connectionClosed());
    new KafkaConnection(socket, limits, (frame) => service.handle(frame, conn), deps.log);
  };
}
