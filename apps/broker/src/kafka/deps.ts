import type { Guard } from '@strand/auth';
import type { AclAdmin } from '@strand/client';
import type { BrokerRecord, LogSink } from '@strand/wire';
import type { ControllerClient, GroupCoordinatorClient } from '../controller-client.js';
import type { DataPlane } from '../data-plane.js';
import type { FetchMemory } from '../fetch-memory.js';
import type { MetadataCache } from '../metadata.js';
import type { TopicAdmin } from '../topic-admin.js';
import type { KafkaMetrics } from './metrics.js';
import type { KafkaListenerSecurity } from './session.js';

/** What the Kafka handlers use of the broker: the same parts its gRPC service uses. */
export interface KafkaDeps {
  brokerId: number;
  clusterId: string;
  data: DataPlane;
  /** Fetch answers' record bytes, bounded as for gRPC fetches (the same memory). */
  fetchMemory: FetchMemory;
  meta: MetadataCache;
  admin: TopicAdmin;
  controller: ControllerClient;
  /** Kafka clients' group requests go to the group coordinator through it. */
  groups: GroupCoordinatorClient;
  config: KafkaConfig;
  /** The cluster's ACLs (the coordinators' Security service), for Kafka's ACL APIs. */
  acls: Pick<AclAdmin, 'create' | 'describe' | 'delete'>;
  /** What requests are checked by (ACLs); none: everything is allowed. */
  guard?: Guard;
  /** How the listener's clients are authenticated. */
  security: KafkaListenerSecurity;
  log: LogSink;
  /** Requests, latencies, errors and connections, on the broker's /metrics (none in unit tests). */
  metrics?: KafkaMetrics;
}

export interface KafkaConfig {
  /** Metadata for an unknown topic creates it (Kafka's auto.create.topics.enable). */
  autoCreateTopics: boolean;
  /** Partitions and replication factor of topics created without them (num.partitions, ...). */
  defaultPartitions: number;
  defaultReplicationFactor: number;
  /** The largest request accepted (socket.request.max.bytes). */
  maxRequestBytes: number;
  /** A connection silent this long is closed (connections.max.idle.ms). */
  connectionsMaxIdleMs: number;
}

/** Where Kafka clients reach a broker: its Kafka address if it has its own, else its address. */
export function kafkaEndpoint(b: BrokerRecord): { host: string; port: number } {
  return splitHostPort(b.kafkaAddress || b.address);
}

export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return {
    host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'),
    port: Number(address.slice(i + 1)),
  };
}
