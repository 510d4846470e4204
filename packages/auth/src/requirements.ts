import type { Operation, ResourceType } from './acl.js';

/**
 * What each request needs, for gRPC and Kafka alike: the operation on each kind of resource
 * it names (Kafka's checks, API by API). An edge asks for one resource at a time, e.g. for
 * every topic of a produce; `orCluster` is the cluster-wide operation that allows it too
 * (CreateTopics: create on the topic or on the cluster). `open`: no ACL is needed (the
 * exchange that authenticates, discovery). `authenticated`: any principal but ANONYMOUS.
 */
export interface Requirement {
  topic?: Operation;
  group?: Operation;
  cluster?: Operation;
  kv?: Operation;
  'transactional-id'?: Operation;
  orCluster?: Operation;
  /** Allowed too by this operation on any one topic (KIP-679's InitProducerId). */
  orAnyTopic?: Operation;
  open?: true;
  authenticated?: true;
}

export const REQUIREMENTS = {
  // Authentication and discovery
  authenticate: { open: true },
  apiVersions: { open: true },
  describeCluster: { open: true },
  kvMembers: { open: true },
  /** A broker's gauges (fetch memory, open files). */
  brokerStats: { cluster: 'describe' },

  // Data
  produce: { topic: 'write' },
  /** Non-transactional InitProducerId: idempotent-write on the cluster, or write on a topic. */
  initProducerId: { cluster: 'idempotent-write', orAnyTopic: 'write' },
  fetch: { topic: 'read' },
  listOffsets: { topic: 'describe' },
  offsetForLeaderEpoch: { topic: 'describe' },
  /** Metadata lists only the topics the principal may describe. */
  metadata: { topic: 'describe' },

  // Between nodes
  followerFetch: { cluster: 'cluster-action' },
  epochEnd: { cluster: 'cluster-action' },
  brokerControl: { cluster: 'cluster-action' },
  raft: { cluster: 'cluster-action' },
  /** Reading the users' credentials and the token key from the KV store. */
  readSecrets: { cluster: 'cluster-action' },

  // Topic admin
  createTopic: { topic: 'create', orCluster: 'create' },
  deleteTopic: { topic: 'delete' },
  createPartitions: { topic: 'alter' },
  alterConfigs: { topic: 'alter-configs' },
  describeConfigs: { topic: 'describe-configs' },
  /** Kafka's DescribeConfigs of a broker resource. */
  describeBrokerConfigs: { cluster: 'describe-configs' },
  reassignPartition: { cluster: 'alter' },

  // Groups
  joinGroup: { group: 'read' },
  syncGroup: { group: 'read' },
  heartbeat: { group: 'read' },
  leaveGroup: { group: 'read' },
  commitOffsets: { group: 'read', topic: 'read' },
  fetchOffsets: { group: 'describe', topic: 'describe' },
  findCoordinator: { group: 'describe' },
  /** ListGroups: every group with describe on the cluster, else those one may describe. */
  listGroups: { group: 'describe', orCluster: 'describe' },
  describeGroup: { group: 'describe' },
  deleteGroup: { group: 'delete' },
  /** Resetting a group's offsets is committing them (Kafka's AlterConsumerGroupOffsets). */
  resetOffsets: { group: 'read', topic: 'read' },

  // The KV store
  kvRead: { kv: 'read' },
  kvWrite: { kv: 'write' },
  kvCompact: { cluster: 'alter' },
  kvLease: { authenticated: true },
  /** Listing every lease names the keys attached to each. */
  kvListLeases: { cluster: 'describe' },
  /** Adding, removing or promoting a coordinator. */
  kvMemberChange: { cluster: 'alter' },
  /** A backup of the whole store (it also needs readSecrets: it holds them). */
  kvSnapshot: { cluster: 'describe' },

  // Security admin
  describeUsers: { cluster: 'describe' },
  alterUsers: { cluster: 'alter' },
  describeAcls: { cluster: 'describe' },
  alterAcls: { cluster: 'alter' },
} as const satisfies Record<string, Requirement>;

export type RequestKind = keyof typeof REQUIREMENTS;

/** The resource types a request is checked on (for the tests and the docs). */
export function resourcesOf(kind: RequestKind): ResourceType[] {
  const r: Requirement = REQUIREMENTS[kind];
  return (['topic', 'group', 'cluster', 'kv', 'transactional-id'] as const).filter(
    (t) => r[t] !== undefined,
  );
}
