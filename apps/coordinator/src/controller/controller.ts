import { type KvNode, type KvOp, prefixEnd, Role } from '@strand/kv';
import { type Logger, silentLogger } from '@strand/ops';
import {
  AuthenticationFailedError,
  type BrokerRecord,
  BrokerRecords,
  brokerTokenHash,
  checkTopicConfigs,
  checkTopicName,
  DuplicateBrokerRegistrationError,
  encodeRecord,
  FencedLeaderEpochError,
  InconsistentClusterIdError,
  InvalidReplicationFactorError,
  InvalidRequestError,
  MAX_PARTITIONS,
  MetaKeys,
  NotLeaderError,
  type PartitionRecord,
  PartitionRecords,
  type RecordKind,
  StaleBrokerEpochError,
  TOPIC_CONFIG_NAMES,
  TopicExistsError,
  type TopicRecord,
  TopicRecords,
  topicConfig,
  UnavailableError,
  UnknownPartitionError,
  UnknownTopicError,
} from '@strand/wire';
import { type MalformedRecord, MalformedRecords } from '../malformed.js';
import {
  completeReassignment,
  newPartition,
  placeReplicas,
  reconcilePartition,
  startReassignment,
} from './placement.js';

export interface ControllerOptions {
  /** A broker with no heartbeat for this long is fenced. */
  sessionTimeoutMs: number;
  /** This cluster's id: a broker whose data folder belongs to another is refused. */
  clusterId: string;
  heartbeatIntervalMs: number;
  /** How often the active controller checks sessions and partition leadership. */
  checkIntervalMs?: number;
  now?: () => number;
  /** Where records that do not decode are noted (shared with the group coordinator). */
  malformed?: MalformedRecords;
  /** Registrations, fencing and partition leader elections are logged here. */
  log?: Logger;
}

export interface TopicChange {
  revision: number;
  topic: TopicRecord;
  partitions: PartitionRecord[];
}

export interface ClusterHealth {
  brokersAlive: number;
  brokersFenced: number;
  topics: number;
  partitions: number;
  /** Partitions with no leader: nobody can produce to them or read them. */
  offlinePartitions: number;
  /** Partitions whose ISR is smaller than their replica set. */
  underReplicatedPartitions: number;
}

interface Stored<T> {
  record: T;
  modRevision: number;
}

const PRODUCER_IDS = '/strand/producer-ids';

/**
 * What keeps the cluster running goes through even on a full disk (a few small records):
 * registrations, fencing, ISR changes and leadership. New topics, partitions, moves and
 * producer ids wait for space.
 */
const ESSENTIAL = true;

/** Partition updates per Raft entry when many partitions change at once. */
const UPDATES_PER_TXN = 200;

/**
 * The controller: active on whichever coordinator is the Raft leader. Every decision it takes
 * is a compare-and-set transaction on the metadata records under `/strand/`, so a deposed
 * controller's late write fails rather than overwriting its successor's. Broker heartbeats are
 * soft state held only here; a new controller gives every broker one full session to
 * heartbeat before fencing it.
 */
export class Controller {
  private readonly lastSeen = new Map<number, number>();
  private activeSince: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private checking = false;
  /**
   * The metadata revision at which reconcile() last found nothing to change. Its decisions
   * depend on the metadata alone, so until the revision moves there is nothing to look at
   * again (with thousands of partitions, decoding them all every check is most of the work).
   */
  private settledAt = -1;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly malformed: MalformedRecords;
  private healthAt: { revision: number; health: ClusterHealth } | undefined;
  private readonly log: Logger;

  constructor(
    private readonly node: KvNode,
    readonly opts: ControllerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.malformed = opts.malformed ?? new MalformedRecords();
    this.log = opts.log ?? silentLogger();
    this.timer = setInterval(() => this.check(), opts.checkIntervalMs ?? 100);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  // ---- brokers ----

  /**
   * A broker (re)starts. Its token (from its data folder) says who it is: a registration of a
   * broker id that a live broker holds is refused unless it carries that broker's token (a
   * restart of the same broker, even after kill -9, registers at once). A broker silent for
   * the session timeout, or fenced, may be taken over (a replacement with a new disk).
   */
  registerBroker(req: {
    id: number;
    address: string;
    incarnation: string;
    rack: string;
    /** Its admin HTTP listener ('' for none), for tools that scrape or probe it. */
    adminUrl?: string;
    clusterId: string;
    token: Buffer;
    /** Where Kafka clients reach it, if not at `address`. */
    kafkaAddress?: string;
  }): Promise<BrokerRecord> {
    const { id } = req;
    if (req.clusterId && req.clusterId !== this.opts.clusterId)
      throw new InconsistentClusterIdError(
        `broker ${id}'s data folder belongs to cluster ${req.clusterId}; this is cluster ${this.opts.clusterId}`,
      );
    const tokenHash = brokerTokenHash(req.token);
    return this.serial(async () => {
      await this.ready();
      const prev = this.stored(MetaKeys.broker(id), BrokerRecords);
      const held = prev?.record;
      if (held && this.isLive(held) && held.tokenHash !== tokenHash)
        throw new DuplicateBrokerRegistrationError(
          `broker ${id} is registered and alive (at ${held.address}); another process cannot take its id before it has been silent for ${this.opts.sessionTimeoutMs} ms`,
        );
      const record: BrokerRecord = {
        id,
        address: req.address,
        incarnation: req.incarnation,
        epoch: this.nextEpoch(prev),
        fenced: false,
        shuttingDown: false,
        rack: req.rack,
        tokenHash,
        adminUrl: req.adminUrl ?? '',
        kafkaAddress: req.kafkaAddress ?? '',
      };
      await this.cas(
        [{ key: MetaKeys.broker(id), modRevision: prev?.modRevision ?? 0 }],
        [put(MetaKeys.broker(id), record)],
        'broker registration raced with another change; retry',
        ESSENTIAL,
      );
      this.lastSeen.set(id, this.now());
      this.log.info(
        {
          broker: id,
          epoch: record.epoch,
          address: record.address,
          rack: record.rack || undefined,
        },
        'broker registered',
      );
      return record;
    });
  }

  /** Soft state only. Returns false when the broker must register again. */
  heartbeat(id: number, epoch: number, token: Buffer): boolean {
    this.requireLeader();
    const b = this.broker(id)?.record;
    if (!b || b.fenced || b.epoch !== epoch) return false;
    checkToken(b, token);
    this.lastSeen.set(id, this.now());
    return true;
  }

  /**
   * A broker stopping on purpose (controlled shutdown): marked as leaving, so the next
   * reconcile moves every leadership it holds to another live in-sync replica and takes it out
   * of every ISR that keeps another live member, while it still answers. Returns how many
   * partitions it led. Its next start registers as usual (no longer leaving), and
   * preferred-leader election gives its leaderships back.
   */
  controlledShutdown(id: number, epoch: number, token: Buffer): Promise<number> {
    return this.serial(async () => {
      await this.ready();
      const stored = this.broker(id);
      if (!stored || stored.record.epoch !== epoch)
        throw new StaleBrokerEpochError(`broker ${id} is not registered at epoch ${epoch}`);
      checkToken(stored.record, token);
      const led = this.list('/strand/partitions/', PartitionRecords).filter(
        (p) => p.record.leader === id,
      ).length;
      if (!stored.record.fenced && !stored.record.shuttingDown) {
        await this.cas(
          [{ key: MetaKeys.broker(id), modRevision: stored.modRevision }],
          [put(MetaKeys.broker(id), { ...stored.record, shuttingDown: true })],
          'broker changed meanwhile',
          ESSENTIAL,
        );
      }
      this.log.info({ broker: id, epoch, leaderships: led }, 'broker in controlled shutdown');
      return led;
    });
  }

  brokers(): BrokerRecord[] {
    return this.list(MetaKeys.brokers, BrokerRecords).map((s) => s.record);
  }

  // ---- topics ----

  createTopic(req: {
    name: string;
    partitions: number;
    replicationFactor: number;
    configs: Record<string, string>;
  }): Promise<TopicChange> {
    const name = checkTopicName(req.name);
    checkPartitionCount(req.partitions);
    if (!Number.isInteger(req.replicationFactor) || req.replicationFactor < 1)
      throw new InvalidReplicationFactorError('replication factor must be at least 1');
    const configs = checkTopicConfigs(req.configs);
    return this.serial(async () => {
      await this.ready();
      if (this.topic(name)) throw new TopicExistsError(name);
      const live = this.liveBrokers();
      requireBrokers(live, req.replicationFactor);
      const start = this.list(MetaKeys.topics, TopicRecords).length;
      const topic: TopicRecord = {
        name,
        id: crypto.randomUUID(),
        partitions: req.partitions,
        replicationFactor: req.replicationFactor,
        configs,
        createdAt: this.now(),
      };
      const partitions = placeReplicas(live, 0, req.partitions, req.replicationFactor, start).map(
        (replicas, p) => newPartition(name, p, replicas),
      );
      const revision = await this.cas(
        [{ key: MetaKeys.topic(name), modRevision: 0 }],
        [put(MetaKeys.topic(name), topic), ...partitions.map(putPartition)],
        () => new TopicExistsError(name),
      );
      return { revision, topic, partitions };
    });
  }

  deleteTopic(name: string): Promise<{ revision: number }> {
    checkTopicName(name);
    return this.serial(async () => {
      await this.ready();
      // A record that does not decode can still be deleted: that is how it is repaired.
      const current = this.stored(MetaKeys.topic(name), TopicRecords);
      if (!current) throw new UnknownTopicError(name);
      const revision = await this.cas(
        [{ key: MetaKeys.topic(name), modRevision: current.modRevision }],
        [
          {
            t: 'del',
            key: Buffer.from(MetaKeys.partitions(name)),
            end: prefixEnd(Buffer.from(MetaKeys.partitions(name))),
          },
          { t: 'del', key: Buffer.from(MetaKeys.topic(name)) },
        ],
        () => new UnknownTopicError(name),
      );
      return { revision };
    });
  }

  alterTopic(
    name: string,
    change: { set: Record<string, string>; delete: string[]; partitions: number },
  ): Promise<TopicChange> {
    checkTopicName(name);
    const set = checkTopicConfigs(change.set);
    for (const key of change.delete) {
      if (!(TOPIC_CONFIG_NAMES as string[]).includes(key))
        throw new InvalidRequestError(
          `unknown config "${key}" (known: ${TOPIC_CONFIG_NAMES.join(', ')})`,
        );
    }
    return this.serial(async () => {
      await this.ready();
      const current = this.topic(name);
      if (!current) throw new UnknownTopicError(name);
      const old = current.record;
      const configs = { ...old.configs, ...set };
      for (const key of change.delete) delete configs[key];
      const count = change.partitions || old.partitions;
      if (count < old.partitions)
        throw new InvalidRequestError(
          `partitions can only grow: "${name}" has ${old.partitions}, asked for ${count}`,
        );
      checkPartitionCount(count);
      let added: PartitionRecord[] = [];
      if (count > old.partitions) {
        const live = this.liveBrokers();
        requireBrokers(live, old.replicationFactor);
        added = placeReplicas(
          live,
          old.partitions,
          count - old.partitions,
          old.replicationFactor,
          0,
        ).map((replicas, i) => newPartition(name, old.partitions + i, replicas));
      }
      const topic: TopicRecord = { ...old, configs, partitions: count };
      const revision = await this.cas(
        [{ key: MetaKeys.topic(name), modRevision: current.modRevision }],
        [put(MetaKeys.topic(name), topic), ...added.map(putPartition)],
        'the topic changed meanwhile; retry',
      );
      return { revision, topic, partitions: this.partitions(name) };
    });
  }

  /**
   * A partition leader changes the ISR (it shrinks when followers fall behind, grows when they
   * catch up). Compare-and-set: only the current leader, at the current leader epoch and
   * partition epoch, with a live broker epoch, may do it; a deposed leader's request fails.
   */
  alterPartition(req: {
    brokerId: number;
    brokerEpoch: number;
    brokerToken: Buffer;
    topic: string;
    partition: number;
    leaderEpoch: number;
    partitionEpoch: number;
    newIsr: number[];
  }): Promise<PartitionRecord> {
    return this.serial(async () => {
      await this.ready();
      const broker = this.broker(req.brokerId)?.record;
      if (!broker || broker.fenced || broker.epoch !== req.brokerEpoch)
        throw new StaleBrokerEpochError(
          `broker ${req.brokerId} epoch ${req.brokerEpoch} is not the registered, live one`,
        );
      checkToken(broker, req.brokerToken);
      const stored = this.list(
        MetaKeys.partition(req.topic, req.partition),
        PartitionRecords,
        true,
      )[0];
      if (!stored) throw new UnknownPartitionError(req.topic, req.partition);
      const cur = stored.record;
      if (cur.leader !== req.brokerId || cur.leaderEpoch !== req.leaderEpoch)
        throw new FencedLeaderEpochError(
          `${req.topic}-${req.partition} is led by ${cur.leader} at epoch ${cur.leaderEpoch}, not ${req.brokerId} at ${req.leaderEpoch}`,
        );
      if (cur.partitionEpoch !== req.partitionEpoch)
        throw new FencedLeaderEpochError(
          `${req.topic}-${req.partition} is at partition epoch ${cur.partitionEpoch}, not ${req.partitionEpoch}`,
        );
      const live = new Set(this.liveBrokers());
      const isr = cur.replicas.filter((b) => req.newIsr.includes(b));
      if (isr.length !== new Set(req.newIsr).size || !isr.includes(cur.leader))
        throw new InvalidRequestError(
          `ISR [${req.newIsr}] must hold the leader and only replicas of [${cur.replicas}]`,
        );
      for (const b of isr)
        if (!cur.isr.includes(b) && (!live.has(b) || this.broker(b)?.record.shuttingDown))
          throw new InvalidRequestError(
            `broker ${b} is fenced or shutting down and cannot join the ISR`,
          );
      const next: PartitionRecord = { ...cur, isr, partitionEpoch: cur.partitionEpoch + 1 };
      await this.cas(
        [{ key: MetaKeys.partition(cur.topic, cur.partition), modRevision: stored.modRevision }],
        [putPartition(next)],
        'the partition changed meanwhile; retry',
        ESSENTIAL,
      );
      return next;
    });
  }

  /**
   * Moves a partition to new replicas: they join and copy as followers, and the old ones are
   * dropped once every new one is in sync (see completeReassignment).
   */
  reassignPartition(topic: string, partition: number, replicas: number[]): Promise<TopicChange> {
    return this.serial(async () => {
      await this.ready();
      const t = this.topic(topic);
      if (!t) throw new UnknownTopicError(topic);
      const key = MetaKeys.partition(topic, partition);
      const stored = this.list(key, PartitionRecords, true)[0];
      if (!stored) throw new UnknownPartitionError(topic, partition, t.record.partitions);
      const live = new Set(this.liveBrokers());
      if (replicas.length === 0 || new Set(replicas).size !== replicas.length)
        throw new InvalidRequestError(`replicas must be distinct broker ids, got [${replicas}]`);
      const dead = replicas.filter((b) => !live.has(b));
      if (dead.length > 0)
        throw new InvalidReplicationFactorError(`broker(s) ${dead} are not registered and live`);
      if (stored.record.targetReplicas)
        throw new InvalidRequestError(
          `${topic}-${partition} is already moving to [${stored.record.targetReplicas}]`,
        );
      const next = startReassignment(stored.record, replicas);
      const revision = await this.cas(
        [{ key, modRevision: stored.modRevision }],
        [putPartition(next)],
        'the partition changed meanwhile; retry',
      );
      return { revision, topic: t.record, partitions: this.partitions(topic) };
    });
  }

  /** A new producer id for an idempotent producer (a counter in the KV store). */
  initProducerId(): Promise<{ producerId: number; producerEpoch: number }> {
    return this.serial(async () => {
      await this.ready();
      const key = Buffer.from(PRODUCER_IDS);
      const kv = this.node.sm.range(key).kvs[0];
      let producerId = kv ? Number(kv.value.toString()) : 1;
      if (kv && !(Number.isSafeInteger(producerId) && producerId >= 1)) {
        this.malformed.note(PRODUCER_IDS, kv.modRevision, 'not a positive integer');
        // Every id handed out took a revision of its own, so none is above the revision now.
        producerId = this.node.sm.revision + 1;
      }
      await this.cas(
        [{ key: PRODUCER_IDS, modRevision: kv?.modRevision ?? 0 }],
        [{ t: 'put', key, value: Buffer.from(String(producerId + 1)) }],
        'producer ids raced; retry',
      );
      return { producerId, producerEpoch: 0 };
    });
  }

  topics(): TopicRecord[] {
    return this.list(MetaKeys.topics, TopicRecords).map((s) => s.record);
  }

  /**
   * The cluster as an operator watches it (the controller's metrics): brokers alive and
   * fenced, topics, partitions, those without a leader and those with a short ISR. Computed
   * once per metadata revision.
   */
  health(): ClusterHealth {
    const revision = this.node.sm.revision;
    if (this.healthAt?.revision === revision) return this.healthAt.health;
    const brokers = this.brokers();
    const parts = this.list('/strand/partitions/', PartitionRecords).map((s) => s.record);
    const health: ClusterHealth = {
      brokersAlive: brokers.filter((b) => !b.fenced).length,
      brokersFenced: brokers.filter((b) => b.fenced).length,
      topics: this.list(MetaKeys.topics, TopicRecords).length,
      partitions: parts.length,
      offlinePartitions: parts.filter((p) => p.leader < 0).length,
      underReplicatedPartitions: parts.filter((p) => p.isr.length < p.replicas.length).length,
    };
    this.healthAt = { revision, health };
    return health;
  }

  partitions(topic: string): PartitionRecord[] {
    return this.list(MetaKeys.partitions(topic), PartitionRecords)
      .map((s) => s.record)
      .sort((a, b) => a.partition - b.partition);
  }

  // ---- the periodic check: sessions, then leadership ----

  private check(): void {
    if (this.node.status().role !== Role.Leader) {
      this.activeSince = undefined;
      this.lastSeen.clear();
      return;
    }
    this.activeSince ??= this.now();
    if (this.checking) return;
    this.checking = true;
    this.serial(async () => {
      await this.ready();
      await this.fenceExpired();
      await this.reconcile();
    })
      .catch(() => undefined) // lost leadership or quorum mid-check: the next check retries
      .finally(() => {
        this.checking = false;
      });
  }

  private async fenceExpired(): Promise<void> {
    const now = this.now();
    for (const b of this.list(MetaKeys.brokers, BrokerRecords)) {
      if (b.record.fenced) continue;
      const seen = this.lastSeen.get(b.record.id) ?? this.activeSince ?? now;
      if (now - seen <= this.opts.sessionTimeoutMs) continue;
      await this.cas(
        [{ key: MetaKeys.broker(b.record.id), modRevision: b.modRevision }],
        [put(MetaKeys.broker(b.record.id), { ...b.record, fenced: true })],
        'broker changed meanwhile',
        ESSENTIAL,
      );
      this.lastSeen.delete(b.record.id);
      this.log.warn(
        { broker: b.record.id, epoch: b.record.epoch, silentMs: now - seen },
        'fenced a broker: no heartbeat within its session',
      );
    }
  }

  private async reconcile(): Promise<void> {
    const revision = this.node.sm.revision;
    if (revision === this.settledAt) return;
    const live = new Set(this.liveBrokers());
    const leaving = new Set(
      this.brokers()
        .filter((b) => b.shuttingDown)
        .map((b) => b.id),
    );
    const unclean = new Map(
      this.topics().map((t) => [t.name, topicConfig(t.configs).uncleanLeaderElection]),
    );
    const changes: { stored: Stored<PartitionRecord>; next: PartitionRecord }[] = [];
    for (const stored of this.list('/strand/partitions/', PartitionRecords)) {
      const next = completeReassignment(
        reconcilePartition(stored.record, live, {
          unclean: unclean.get(stored.record.topic) ?? false,
          preferred: true,
          leaving,
        }),
        live,
      );
      if (next !== stored.record) changes.push({ stored, next });
    }
    if (changes.length === 0) this.settledAt = revision;
    for (let i = 0; i < changes.length; i += UPDATES_PER_TXN) {
      const chunk = changes.slice(i, i + UPDATES_PER_TXN);
      await this.cas(
        chunk.map((c) => ({
          key: MetaKeys.partition(c.next.topic, c.next.partition),
          modRevision: c.stored.modRevision,
        })),
        chunk.map((c) => putPartition(c.next)),
        'partitions changed meanwhile',
        ESSENTIAL,
      );
      for (const c of chunk) this.logChange(c.stored.record, c.next);
    }
  }

  /** A partition's leader or ISR changed by the controller (an election, a fenced replica). */
  private logChange(was: PartitionRecord, next: PartitionRecord): void {
    const ids = { topic: next.topic, partition: next.partition, epoch: next.leaderEpoch };
    if (next.leader !== was.leader) {
      const unclean = next.leader >= 0 && !was.isr.includes(next.leader);
      const fields = { ...ids, leader: next.leader, was: was.leader, isr: next.isr };
      if (next.leader < 0) this.log.warn(fields, 'partition offline: no eligible leader');
      else if (unclean) this.log.warn(fields, 'elected a leader outside the ISR (unclean)');
      else this.log.info(fields, 'elected a leader');
    } else if (next.isr.join() !== was.isr.join())
      this.log.info({ ...ids, isr: next.isr, was: was.isr }, 'ISR changed by the controller');
  }

  // ---- plumbing ----

  /** Not fenced, and heard from within the session (a new controller gives everyone one). */
  private isLive(b: BrokerRecord): boolean {
    if (b.fenced) return false;
    const now = this.now();
    return now - (this.lastSeen.get(b.id) ?? this.activeSince ?? now) <= this.opts.sessionTimeoutMs;
  }

  private liveBrokers(): number[] {
    return this.brokers()
      .filter((b) => !b.fenced)
      .map((b) => b.id)
      .sort((a, b) => a - b);
  }

  private broker(id: number): Stored<BrokerRecord> | undefined {
    return this.list(MetaKeys.broker(id), BrokerRecords, true)[0];
  }

  private topic(name: string): Stored<TopicRecord> | undefined {
    return this.list(MetaKeys.topic(name), TopicRecords, true)[0];
  }

  private list<T>(key: string, kind: RecordKind<T>, exact = false): Stored<T>[] {
    const k = Buffer.from(key);
    const { kvs } = this.node.sm.range(k, exact ? undefined : prefixEnd(k));
    return kvs.flatMap((kv) => {
      const record = this.malformed.decode(kind, kv);
      return record === undefined ? [] : [{ record, modRevision: kv.modRevision }];
    });
  }

  /** The record at `key`: absent, or its revision and, when it decodes, the record. */
  private stored<T>(
    key: string,
    kind: RecordKind<T>,
  ): { record?: T; modRevision: number } | undefined {
    const kv = this.node.sm.range(Buffer.from(key)).kvs[0];
    if (!kv) return undefined;
    const record = this.malformed.decode(kind, kv);
    return record === undefined
      ? { modRevision: kv.modRevision }
      : { record, modRevision: kv.modRevision };
  }

  /**
   * A broker's next epoch. Epochs only grow, so a stale process never matches a new one; when
   * the old record does not decode, the revision now is above every epoch handed out (each
   * registration took a revision of its own).
   */
  private nextEpoch(prev: { record?: BrokerRecord } | undefined): number {
    if (!prev) return 1;
    return prev.record ? prev.record.epoch + 1 : this.node.sm.revision + 1;
  }

  /** Metadata records that did not decode and still stand (for DescribeCluster). */
  malformedRecords(): MalformedRecord[] {
    return this.malformed.list((key) => this.node.sm.range(Buffer.from(key)).kvs[0]?.modRevision);
  }

  private requireLeader(): void {
    // header(), not status(): it runs for every call; status() lists the members too.
    const h = this.node.header();
    if (h.leader === h.id) return;
    const s = this.node.status();
    throw new NotLeaderError(s.leader || undefined, s.leaderAddress);
  }

  /** Leader, and its state machine holds everything committed before now. */
  private async ready(): Promise<void> {
    this.requireLeader();
    await this.node.linearizable();
    this.requireLeader();
  }

  /** Decisions are taken one at a time, each on the state the previous one left. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * A transaction that applies `ops` only if every key still has the given modRevision.
   * `essential` ones (see ESSENTIAL) go through on a full disk; the others are then refused.
   */
  private async cas(
    expect: { key: string; modRevision: number }[],
    ops: KvOp[],
    onConflict: string | (() => Error),
    essential = false,
  ): Promise<number> {
    const r = await this.node.propose(
      {
        t: 'txn',
        compare: expect.map((e) => ({
          key: Buffer.from(e.key),
          target: 'mod' as const,
          result: '=' as const,
          value: e.modRevision,
        })),
        success: ops,
        failure: [],
      },
      undefined,
      { essential },
    );
    if (r.t === 'error') throw new UnavailableError(r.message);
    if (r.t !== 'txn' || !r.succeeded)
      throw typeof onConflict === 'string' ? new UnavailableError(onConflict) : onConflict();
    return r.revision;
  }
}

/** A broker's request must carry its token (records from before tokens accept any). */
function checkToken(b: BrokerRecord, token: Buffer): void {
  if (b.tokenHash && b.tokenHash !== brokerTokenHash(token))
    throw new AuthenticationFailedError(`not broker ${b.id}: its token does not match`);
}

function put(key: string, record: BrokerRecord | TopicRecord | PartitionRecord): KvOp {
  return { t: 'put', key: Buffer.from(key), value: encodeRecord(record) };
}

function putPartition(p: PartitionRecord): KvOp {
  return put(MetaKeys.partition(p.topic, p.partition), p);
}

function checkPartitionCount(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS)
    throw new InvalidRequestError(
      `partitions must be an integer in 1..${MAX_PARTITIONS}, got ${n}`,
    );
}

function requireBrokers(live: number[], replicationFactor: number): void {
  if (live.length === 0)
    throw new InvalidReplicationFactorError('no live brokers: start a broker first');
  if (replicationFactor > live.length)
    throw new InvalidReplicationFactorError(
      `replication factor ${replicationFactor} is more than the ${live.length} live broker${live.length > 1 ? 's' : ''}`,
    );
}
