import {
  type Check,
  type KeyRange,
  keyRange,
  onCluster,
  onKeys,
  onLease,
  onResource,
  prefixRange,
  type RequestKind,
} from '@strand/auth';
import { AuthorizationFailedError, ErrorCode, toErrorFields } from '@strand/wire';
import {
  type CallRule,
  type CallRules,
  CHECKED_PER_MESSAGE,
  OPEN_CALL,
  rule,
} from './call-rules.js';

// What every gRPC method of brokers and coordinators needs (REQUIREMENTS says what each kind
// of request needs on each kind of resource; this says which resources a request names).

type Named = { topic: string };

/** One check per topic named (once each). */
const onTopics = (kind: RequestKind, entries: readonly Named[]): Check[] =>
  [...new Set(entries.map((e) => e.topic))].map((t) => onResource(kind, 'topic', t));

/** What one produce request needs (each message of a ProduceStream, checked by its handler). */
export const produceChecks = (r: { partitions: Named[] }): Check[] =>
  onTopics('produce', r.partitions);

/**
 * What one fetch needs (each message of a FetchStream, checked by its handler): a broker's
 * follower fetch is cluster-action; anyone else's is read on the topics.
 */
export const fetchChecks = (r: { replica_id: number; partitions: Named[] }): Check[] =>
  r.replica_id > 0 ? [onCluster('followerFetch')] : onTopics('fetch', r.partitions);

const cluster = (kind: RequestKind): CallRule => rule({ checks: () => [onCluster(kind)] });
const onName = (kind: RequestKind) =>
  rule<{ name: string }>({ checks: (r) => [onResource(kind, 'topic', r.name)] });
const onGroup = (kind: RequestKind) =>
  rule<{ group_id: string }>({ checks: (r) => [onResource(kind, 'group', r.group_id)] });
const groupAndTopics = (kind: RequestKind, r: { group_id: string; offsets: Named[] }): Check[] => [
  onResource(kind, 'group', r.group_id),
  ...onTopics(kind, r.offsets),
];
const onGroupAndTopics = (kind: RequestKind) =>
  rule<{ group_id: string; offsets: Named[] }>({ checks: (r) => groupAndTopics(kind, r) });

/** What one offset commit needs (each commit of a batch call, checked by its handler). */
export const commitChecks = (r: { group_id: string; offsets: Named[] }): Check[] =>
  groupAndTopics('commitOffsets', r);

const topicAuthorizationFailed = (name: string) =>
  toErrorFields(
    new AuthorizationFailedError(
      ErrorCode.TopicAuthorizationFailed,
      `may not describe topic "${name}"`,
    ),
  );

/** Topic admin, answered by brokers (who forward it) and by the controller alike. */
const TOPIC_ADMIN: Record<string, CallRule> = {
  CreateTopic: onName('createTopic'),
  DeleteTopic: onName('deleteTopic'),
  AlterTopic: rule<{
    name: string;
    set_configs: object;
    delete_configs: string[];
    partitions: number;
  }>({
    checks: (r) => {
      const checks: Check[] = [];
      if (r.partitions > 0) checks.push(onResource('createPartitions', 'topic', r.name));
      if (r.partitions === 0 || Object.keys(r.set_configs).length + r.delete_configs.length > 0)
        checks.push(onResource('alterConfigs', 'topic', r.name));
      return checks;
    },
  }),
  ReassignPartition: cluster('reassignPartition'),
  DescribeCluster: OPEN_CALL,
  InitProducerId: cluster('initProducerId'),
};

type KeyRequest = { key: Buffer; range_end: Buffer; prefix: boolean };

/** The keys a KV request names: one key, a prefix, or [key, range_end). */
export function keysOf(r: KeyRequest): KeyRange {
  if (r.prefix) return prefixRange(r.key);
  return r.range_end.length > 0 ? { start: r.key, end: r.range_end } : keyRange(r.key);
}

const show = (r: KeyRequest) =>
  r.prefix
    ? `keys "${r.key}*"`
    : r.range_end.length > 0
      ? `keys ["${r.key}", "${r.range_end}")`
      : `key "${r.key}"`;

const read = (r: KeyRequest) => onKeys('kvRead', keysOf(r), show(r));
const write = (r: KeyRequest) => onKeys('kvWrite', keysOf(r), show(r));
const asKey = (r: { key: Buffer }): KeyRequest => ({
  key: r.key,
  range_end: Buffer.alloc(0),
  prefix: false,
});

export interface RuleContext {
  /** The keys attached to lease `id` (revoking it deletes them). */
  leaseKeys(id: number): Buffer[];
  /** Who granted lease `id` ('' : no one, without authentication); undefined: no such lease. */
  leaseOwner(id: number): string | undefined;
}

/** A node that keeps no leases (a broker). */
const NO_LEASES: RuleContext = { leaseKeys: () => [], leaseOwner: () => undefined };

/** Using lease `id`: its owner's alone (an unknown one is the handler's LEASE_NOT_FOUND). */
function leaseUse(ctx: RuleContext, id: number | undefined): Check[] {
  const owner = id ? ctx.leaseOwner(id) : undefined;
  return id && owner !== undefined ? [onLease(id, owner)] : [];
}

type Put = { key: Buffer; lease?: number };
/** A put needs write on its key, and its lease (if any) to be the caller's. */
const putChecks = (ctx: RuleContext, p: Put): Check[] => [
  write(asKey(p)),
  ...leaseUse(ctx, p.lease),
];

type Op = {
  request?: string;
  range?: KeyRequest;
  put?: Put;
  delete_range?: KeyRequest;
};
type Txn = { compare: { key: Buffer }[]; success: Op[]; failure: Op[] };

function opChecks(ctx: RuleContext, op: Op): Check[] {
  if (op.request === 'range' && op.range) return [read(op.range)];
  if (op.request === 'put' && op.put) return putChecks(ctx, op.put);
  if (op.request === 'delete_range' && op.delete_range) return [write(op.delete_range)];
  return [];
}

/** A txn needs every key it compares (read) and every key either branch reads or writes. */
export const txnChecks = (t: Txn, ctx: RuleContext = NO_LEASES): Check[] => [
  ...t.compare.map((c) => read(asKey(c))),
  ...t.success.flatMap((op) => opChecks(ctx, op)),
  ...t.failure.flatMap((op) => opChecks(ctx, op)),
];

/** The checks of one request of the KV service's stream (checked by its handler). */
export function kvStreamChecks(
  req: { request?: string } & Record<string, unknown>,
  ctx: RuleContext = NO_LEASES,
): Check[] {
  switch (req.request) {
    case 'range':
      return [read(req.range as KeyRequest)];
    case 'put':
      return putChecks(ctx, req.put as Put);
    case 'delete_range':
      return [write(req.delete_range as KeyRequest)];
    case 'txn':
      return txnChecks(req.txn as Txn, ctx);
    default:
      return [];
  }
}

/** Every gRPC method's rule, brokers' and coordinators' (and the Raft port's). */
export function grpcRules(ctx: RuleContext = NO_LEASES): CallRules {
  return {
    'strand.security.v1.Auth': { Authenticate: OPEN_CALL },
    'strand.security.v1.Security': {
      UpsertUser: cluster('alterUsers'),
      DeleteUser: cluster('alterUsers'),
      ListUsers: cluster('describeUsers'),
      CreateAcls: cluster('alterAcls'),
      DeleteAcls: cluster('alterAcls'),
      DescribeAcls: cluster('describeAcls'),
    },
    'strand.broker.v1.Broker': {
      Produce: rule({ checks: produceChecks }),
      ProduceStream: CHECKED_PER_MESSAGE,
      Fetch: rule({ checks: fetchChecks }),
      FetchStream: CHECKED_PER_MESSAGE,
      ListOffsets: rule<{ partitions: Named[] }>({
        checks: (r) => onTopics('listOffsets', r.partitions),
      }),
      // Topics one may not describe are left out of a listing; asked by name, refused.
      Metadata: rule<{ topics: string[] }, { topics: { name: string }[] }>({
        filter: (res, req, may) => ({
          ...res,
          topics: res.topics.flatMap((t) => {
            if (may(onResource('metadata', 'topic', t.name))) return [t];
            return req.topics.length > 0
              ? [{ name: t.name, error: topicAuthorizationFailed(t.name) }]
              : [];
          }),
        }),
      }),
      ...TOPIC_ADMIN,
      EpochEnd: cluster('epochEnd'),
      Stats: cluster('brokerStats'),
    },
    'strand.broker.v1.Controller': {
      RegisterBroker: cluster('brokerControl'),
      Heartbeat: cluster('brokerControl'),
      AlterPartition: cluster('brokerControl'),
      ControlledShutdown: cluster('brokerControl'),
      ...TOPIC_ADMIN,
    },
    'strand.group.v1.GroupCoordinator': {
      JoinGroup: onGroup('joinGroup'),
      SyncGroup: onGroup('syncGroup'),
      Heartbeat: onGroup('heartbeat'),
      LeaveGroup: onGroup('leaveGroup'),
      CommitOffsets: rule({ checks: commitChecks }),
      // Each commit is checked as its single call is, and refused alone.
      CommitOffsetsBatch: CHECKED_PER_MESSAGE,
      ResetOffsets: onGroupAndTopics('resetOffsets'),
      // Offsets of topics one may not describe are left out.
      FetchOffsets: rule<{ group_id: string; partitions: Named[] }, { offsets: Named[] }>({
        checks: (r) => [
          onResource('fetchOffsets', 'group', r.group_id),
          ...onTopics('fetchOffsets', r.partitions),
        ],
        filter: (res, _req, may) => ({
          ...res,
          offsets: res.offsets.filter((o) => may(onResource('fetchOffsets', 'topic', o.topic))),
        }),
      }),
      ListGroups: rule<unknown, { groups: { group_id: string }[] }>({
        filter: (res, _req, may) => ({
          ...res,
          groups: res.groups.filter((g) => may(onResource('listGroups', 'group', g.group_id))),
        }),
      }),
      DescribeGroup: onGroup('describeGroup'),
      DeleteGroup: onGroup('deleteGroup'),
      ClassicJoinGroup: onGroup('joinGroup'),
      ClassicSyncGroup: onGroup('syncGroup'),
      ClassicHeartbeat: onGroup('heartbeat'),
      ClassicLeaveGroup: onGroup('leaveGroup'),
      ClassicCommitOffsets: rule({ checks: commitChecks }),
      ClassicCommitOffsetsBatch: CHECKED_PER_MESSAGE,
    },
    'strand.kv.v1.KV': {
      Range: rule<KeyRequest>({ checks: (r) => [read(r)] }),
      Put: rule<Put>({ checks: (r) => putChecks(ctx, r) }),
      DeleteRange: rule<KeyRequest>({ checks: (r) => [write(r)] }),
      Txn: rule<Txn>({ checks: (r) => txnChecks(r, ctx) }),
      Compact: cluster('kvCompact'),
      Stream: CHECKED_PER_MESSAGE,
    },
    'strand.kv.v1.Watch': {
      // Checked again whenever the ACLs change: a watch no longer allowed ends.
      Watch: rule<KeyRequest>({ checks: (r) => [read(r)] }),
    },
    'strand.kv.v1.Lease': {
      // Anyone authenticated may grant a lease; it is then the granter's alone (super users').
      LeaseGrant: cluster('kvLease'),
      LeaseKeepAlive: rule<{ id: number }>({
        checks: (r) => [onCluster('kvLease'), ...leaseUse(ctx, r.id)],
      }),
      // Revoking a lease deletes its keys: it needs write on each too.
      LeaseRevoke: rule<{ id: number }>({
        checks: (r) => [
          onCluster('kvLease'),
          ...leaseUse(ctx, r.id),
          ...ctx.leaseKeys(r.id).map((key) => write(asKey({ key }))),
        ],
      }),
      LeaseLeases: cluster('kvListLeases'),
    },
    // Members stays open: it is how clients and brokers find the coordinators.
    'strand.kv.v1.Cluster': {
      Members: OPEN_CALL,
      MemberAdd: cluster('kvMemberChange'),
      MemberRemove: cluster('kvMemberChange'),
      MemberPromote: cluster('kvMemberChange'),
    },
    // A backup holds every key, the users' credentials and the token key too.
    'strand.kv.v1.Maintenance': {
      Snapshot: rule({ checks: () => [onCluster('kvSnapshot'), onCluster('readSecrets')] }),
    },
    'strand.kv.v1.Raft': { Stream: cluster('raft') },
  };
}
