import type { AclBinding, AclBindingInput, AclFilter } from '@strand/auth';
import {
  checkTopicName,
  ErrorCode,
  fromErrorFields,
  InvalidRequestError,
  kvService,
  type StrandError,
  securityService,
  TopicExistsError,
  UnavailableError,
  UnknownTopicError,
} from '@strand/wire';
import { AclAdmin } from '../auth/acl-admin.js';
import { UserAdmin, type UserCredentialOptions, type UserDescription } from '../auth/user-admin.js';
import { GroupClient } from '../groups/coordinator-client.js';
import { GroupAdmin } from '../groups/group-admin.js';
import type { GroupDescription, GroupSummary, ResetSpec } from '../groups/types.js';
import { type Member, memberFromWire, type RawMember } from '../kv/kv-client.js';
import { clientSecurity } from '../security.js';
import { BrokerPool } from './broker-pool.js';
import { listOffsets, tpKey } from './list-offsets.js';
import { MetadataCache } from './metadata-cache.js';
import {
  backoffMs,
  type ClientOptions,
  clientOptions,
  type ResolvedClientOptions,
  sleep,
} from './options.js';
import type { ClusterDescription, PartitionOffsets, TopicDescription } from './types.js';
import {
  isError,
  type RawCluster,
  type RawTopic,
  type RawTopicChange,
  toCluster,
  toTopicDescription,
} from './wire-types.js';

/**
 * The typed error a topic request failed with, naming the topic: the server's answer carries
 * the code and a message, so a rebuilt TopicExistsError or UnknownTopicError has no `topic`.
 */
const naming =
  (topic: string) =>
  (err: unknown): never => {
    const e = err as StrandError;
    if (e.code === ErrorCode.TopicExists) throw new TopicExistsError(topic, e.message);
    if (e.code === ErrorCode.UnknownTopic) throw new UnknownTopicError(topic, e.message);
    throw err;
  };

/**
 * Topic and cluster administration. Any broker answers: topic changes are forwarded to the
 * controller and answered once that broker's metadata shows them.
 */
export class Admin {
  private readonly opts: ResolvedClientOptions;
  private readonly pool: BrokerPool;
  private readonly metadata: MetadataCache;
  private readonly groupClient: GroupClient;
  private readonly groups: GroupAdmin;
  private readonly securityClient: GroupClient;
  private readonly users: UserAdmin;
  private readonly acls: AclAdmin;
  private readonly clusterClient: GroupClient;

  constructor(opts: ClientOptions) {
    this.opts = clientOptions(opts);
    this.pool = new BrokerPool(
      this.opts.clientId,
      clientSecurity(this.opts, () => this.opts.bootstrap),
      this.opts.connectTimeoutMs,
    );
    this.metadata = new MetadataCache(this.pool, this.opts);
    this.groupClient = new GroupClient({
      pool: this.pool,
      brokers: () => this.metadata.addresses(),
      requestTimeoutMs: this.opts.requestTimeoutMs,
      retryBackoffMs: this.opts.retryBackoffMs,
    });
    this.groups = new GroupAdmin(this.groupClient, (topic, spec) => this.listOffsets(topic, spec));
    this.securityClient = new GroupClient(
      {
        pool: this.pool,
        brokers: () => this.metadata.addresses(),
        requestTimeoutMs: this.opts.requestTimeoutMs,
        retryBackoffMs: this.opts.retryBackoffMs,
      },
      securityService('Security'),
    );
    this.users = new UserAdmin(this.securityClient);
    this.acls = new AclAdmin(this.securityClient);
    this.clusterClient = new GroupClient(
      {
        pool: this.pool,
        brokers: () => this.metadata.addresses(),
        requestTimeoutMs: this.opts.requestTimeoutMs,
        retryBackoffMs: this.opts.retryBackoffMs,
      },
      kvService('Cluster'),
    );
  }

  // ---- coordinators (Raft membership, as etcdctl member; alter on the cluster to change) ----

  /** The coordinators: voters and learners, who leads, where each listens. */
  async listCoordinators(): Promise<Member[]> {
    const res = await this.clusterClient.call<{ members: RawMember[] }>('Members', {});
    return res.members.map(memberFromWire);
  }

  /**
   * Adds coordinator `id` (client address `address`) as a learner; start it with `--join
   * true`. Resolves with the members once the change is applied.
   */
  async addCoordinator(id: number, address: string, opts: { peerAddress?: string } = {}) {
    return this.memberChange('MemberAdd', { id, address, peer_address: opts.peerAddress ?? '' });
  }

  /** Makes learner `id` a voter (MEMBERSHIP_REFUSED until it has caught up). */
  async promoteCoordinator(id: number): Promise<Member[]> {
    return this.memberChange('MemberPromote', { id });
  }

  /** Removes coordinator `id` (MEMBERSHIP_REFUSED when that would lose quorum). */
  async removeCoordinator(id: number): Promise<Member[]> {
    return this.memberChange('MemberRemove', { id });
  }

  private async memberChange(method: string, req: unknown): Promise<Member[]> {
    const res = await this.clusterClient.call<{ members: RawMember[] }>(method, req, {
      attempts: 1,
    });
    return res.members.map(memberFromWire);
  }

  // ---- ACLs (answered by the coordinators; alter on the cluster to change, describe to list) ----

  /**
   * Creates ACL bindings (Kafka's: principal, host, resource type and pattern, operation,
   * allow or deny); creating one that exists keeps one. Answers the bindings as stored.
   */
  createAcls(bindings: readonly AclBindingInput[]): Promise<AclBinding[]> {
    return this.acls.create(bindings);
  }

  /** The bindings the filter matches (every field left out matches any; {} lists all). */
  describeAcls(filter: AclFilter = {}): Promise<AclBinding[]> {
    return this.acls.describe(filter);
  }

  /** Deletes every binding the filter matches, and answers those it removed. */
  deleteAcls(filter: AclFilter): Promise<AclBinding[]> {
    return this.acls.delete(filter);
  }

  // ---- users (answered by the coordinators; super users only) ----

  /** A new user with a SCRAM credential (SCRAM-SHA-512 unless said); USER_EXISTS if there is one. */
  createUser(name: string, password: string, opts: UserCredentialOptions = {}): Promise<void> {
    return this.users.upsert(name, password, { ...opts, createOnly: true });
  }

  /** A user's new password (for the mechanism given); UNKNOWN_USER if there is no such user. */
  changePassword(name: string, password: string, opts: UserCredentialOptions = {}): Promise<void> {
    return this.users.upsert(name, password, { ...opts, updateOnly: true });
  }

  /** Deletes a user: its sessions end at their next call, on every node. */
  deleteUser(name: string): Promise<void> {
    return this.users.delete(name);
  }

  listUsers(): Promise<UserDescription[]> {
    return this.users.list();
  }

  // ---- consumer groups (answered by the coordinators) ----

  /** Every group with members or committed offsets, with its total lag. */
  listGroups(): Promise<GroupSummary[]> {
    return this.groups.list();
  }

  /** Members and their partitions, committed offsets and lag per partition. */
  describeGroup(groupId: string): Promise<GroupDescription> {
    return this.groups.describe(groupId);
  }

  /**
   * Moves an inactive group's committed offsets (to earliest, latest, a timestamp or an
   * offset) for `topic`, or for every topic it has offsets for. Returns the new offsets.
   */
  resetGroupOffsets(
    groupId: string,
    to: ResetSpec,
    opts: { topic?: string } = {},
  ): Promise<{ topic: string; partition: number; offset: number }[]> {
    if (opts.topic !== undefined) checkTopicName(opts.topic);
    return this.groups.reset(groupId, to, opts.topic);
  }

  /** Deletes an inactive group and its committed offsets. */
  deleteGroup(groupId: string): Promise<void> {
    return this.groups.delete(groupId);
  }

  async createTopic(t: {
    name: string;
    partitions?: number;
    replicationFactor?: number;
    configs?: Record<string, string>;
  }): Promise<TopicDescription> {
    checkTopicName(t.name);
    const partitions = t.partitions ?? 1;
    const replicationFactor = t.replicationFactor ?? 1;
    if (!Number.isInteger(partitions) || partitions < 1)
      throw new InvalidRequestError(`partitions must be a positive integer, got ${partitions}`);
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1)
      throw new InvalidRequestError(
        `replicationFactor must be a positive integer, got ${replicationFactor}`,
      );
    const res = await this.call<RawTopicChange>('CreateTopic', {
      name: t.name,
      partitions,
      replication_factor: replicationFactor,
      configs: t.configs ?? {},
    }).catch(naming(t.name));
    return this.changed(t.name, res);
  }

  async deleteTopic(name: string): Promise<void> {
    checkTopicName(name);
    await this.call<RawTopicChange>('DeleteTopic', { name }).catch(naming(name));
  }

  async listTopics(): Promise<TopicDescription[]> {
    const res = await this.metadata.request([]);
    this.metadata.apply(res);
    return res.topics
      .filter((t) => !isError(t.error))
      .map(toTopicDescription)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    checkTopicName(name);
    const res = await this.metadata.request([name]);
    this.metadata.apply(res, new Set([name]));
    const t = res.topics.find((x) => x.name === name);
    if (!t || isError(t.error)) throw this.metadata.problem(name) ?? new UnknownTopicError(name);
    return toTopicDescription(t);
  }

  async alterTopic(
    name: string,
    change: { set?: Record<string, string>; delete?: string[]; partitions?: number },
  ): Promise<TopicDescription> {
    checkTopicName(name);
    if (
      change.partitions !== undefined &&
      !(Number.isInteger(change.partitions) && change.partitions >= 1)
    )
      throw new InvalidRequestError(
        `partitions must be a positive integer, got ${change.partitions}`,
      );
    const res = await this.call<RawTopicChange>('AlterTopic', {
      name,
      set_configs: change.set ?? {},
      delete_configs: change.delete ?? [],
      partitions: change.partitions ?? 0,
    }).catch(naming(name));
    return this.changed(name, res);
  }

  /**
   * Moves a partition to `replicas` (the first is its preferred leader): the new replicas copy
   * the log as followers, and the old ones are dropped once every new one is in sync. Resolves
   * when the move has started; `describeTopic` shows `targetReplicas` until it is done.
   */
  async reassignPartition(
    topic: string,
    partition: number,
    replicas: number[],
  ): Promise<TopicDescription> {
    checkTopicName(topic);
    if (!Number.isInteger(partition) || partition < 0)
      throw new InvalidRequestError(`partition must be an integer >= 0, got ${partition}`);
    if (replicas.length === 0 || replicas.some((b) => !Number.isInteger(b) || b < 1))
      throw new InvalidRequestError(`replicas must be broker ids >= 1, got [${replicas}]`);
    const res = await this.call<RawTopicChange>('ReassignPartition', {
      topic,
      partition,
      replicas,
    }).catch(naming(topic));
    return this.changed(topic, res);
  }

  async listOffsets(
    topic: string,
    spec: 'earliest' | 'latest' | { timestamp: number },
  ): Promise<PartitionOffsets[]> {
    checkTopicName(topic);
    const desc = await this.metadata.require(topic);
    const tps = desc.partitions.map((p) => ({ topic, partition: p.partition }));
    const res = await listOffsets(
      {
        pool: this.pool,
        metadata: this.metadata,
        requestTimeoutMs: this.opts.requestTimeoutMs,
        retries: this.opts.retries,
        retryBackoffMs: this.opts.retryBackoffMs,
      },
      tps,
      spec,
    );
    return tps.map(({ partition }) => {
      const r = res.get(tpKey(topic, partition))!;
      return {
        partition,
        offset: r.offset,
        logStartOffset: r.log_start_offset,
        highWatermark: r.high_watermark,
        logEndOffset: r.log_end_offset,
        sizeBytes: r.size_bytes,
        ...(r.compacted && {
          cleaner: {
            dirtyRatio: r.dirty_ratio,
            cleanedBytes: r.cleaned_bytes,
            ...(r.last_cleaned_ms > 0 && { lastCleanedMs: r.last_cleaned_ms }),
            ...(r.cleaner_error && { error: r.cleaner_error }),
          },
        }),
      };
    });
  }

  async describeCluster(): Promise<ClusterDescription> {
    return toCluster(await this.call<RawCluster>('DescribeCluster', {}));
  }

  async close(): Promise<void> {
    this.groupClient.close();
    this.securityClient.close();
    this.clusterClient.close();
    this.pool.close();
  }

  private changed(name: string, res: RawTopicChange): TopicDescription {
    const t: RawTopic | null = res.topic;
    if (!t) throw new UnknownTopicError(name);
    if (isError(t.error))
      throw t.error.code === 'UNKNOWN_TOPIC'
        ? new UnknownTopicError(name)
        : fromErrorFields(t.error);
    return toTopicDescription(t);
  }

  /** A request any broker can answer; retried on another broker while unavailable. */
  private async call<T>(method: string, req: unknown): Promise<T> {
    let last: StrandError = new UnavailableError('no broker answered');
    for (let attempt = 0; attempt <= this.opts.retries; attempt++) {
      const addresses = this.metadata.addresses();
      const address = addresses[attempt % addresses.length]!;
      try {
        return await this.pool.unary<T>(address, method, req, this.opts.requestTimeoutMs);
      } catch (err) {
        last = err as StrandError;
        // Only a transport failure or a missing controller is worth another try: the
        // request was not applied. A timeout may have been, so it is reported, not repeated.
        if (!(last instanceof UnavailableError) && last.code !== 'NOT_LEADER') throw last;
        if (attempt > 0) await sleep(backoffMs(this.opts.retryBackoffMs, attempt - 1));
      }
    }
    throw last;
  }
}
