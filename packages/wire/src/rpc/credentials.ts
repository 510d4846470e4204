import * as grpc from '@grpc/grpc-js';

/**
 * Which listener a server or channel belongs to: `client` (what clients, tools and brokers
 * call: the KV API, groups, the controller, brokers' topic API) or `peer` (Raft between
 * coordinators, reachable only by the other coordinators).
 */
export type ListenerKind = 'client' | 'peer';

/**
 * The one place that makes credentials for every gRPC server and channel Strand opens.
 * Plaintext today; TLS (and mutual TLS on the peer listener) plugs in here, per kind.
 */
export function serverCredentials(_kind: ListenerKind): grpc.ServerCredentials {
  return grpc.ServerCredentials.createInsecure();
}

export function channelCredentials(_kind: ListenerKind): grpc.ChannelCredentials {
  return grpc.credentials.createInsecure();
}
