import { randomUUID } from 'node:crypto';
import { type KvNode, type KvOp, prefixEnd, Role } from '@strand/kv';
import {
  type CommittedOffset,
  CommittedOffsetSchema,
  decodeRecord,
  GroupKeys,
  GroupNotEmptyError,
  MetaKeys,
  NotLeaderError,
  parseOffsetKey,
  TopicRecordSchema,
  UnavailableError,
  UnknownGroupError,
  UnknownMemberIdError,
  UnknownPartitionError,
  UnknownTopicError,
} from '@strand/wire';
import type { TopicPartition } from './assignors.js';
import {
  type Catalog,
  Group,
  type GroupRecord,
  type JoinAnswer,
  type MemberMeta,
} from './group.js';
import { OffsetBatcher } from './offset-batcher.js';
import { GroupRecordSchema } from './records.js';

export interface GroupCoordinatorOptions {
  /** An empty group waits this long for more members before its first generation. */
  initialRebalanceDelayMs: number;
  /** How long offset commits gather before they go to Raft as one transaction. */
  commitFlushMs: number;
  tickMs?: number;
  now?: () => number;
}

export interface OffsetCommit extends TopicPartition {
  offset: number;
  metadata: string;
}

export interface StoredOffset extends TopicPartition, CommittedOffset {}

interface Entry {
  group: Group;
  /** modRevision of the group record (0: none yet): writes are compare-and-set on it. */
  modRevision: number;
  waiters: Map<string, { resolve: (a: JoinAnswer) => void; reject: (e: Error) => void }[]>;
  writes: Promise<unknown>;
}

const CATALOG_MAX_AGE_MS = 250;

/**
 * The group coordinator: active on the Raft leader only. Group state lives in memory; each
 * completed generation is written to the KV store (compare-and-set on the group record) before
 * any member hears of it, so a new leader restores the last generation and members carry on
 * without a rebalance. Offsets are KV keys, written in batches.
 */
export class GroupCoordinator {
  private groups = new Map<string, Entry>();
  private loading = new Map<string, Promise<Entry | undefined>>();
  private term = -1;
  private catalogCache: { at: number; catalog: Map<string, number> } | undefined;
  private readonly batcher: OffsetBatcher;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly groupOpts;

  constructor(
    private readonly node: KvNode,
    opts: GroupCoordinatorOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.groupOpts = { initialDelayMs: opts.initialRebalanceDelayMs };
    this.batcher = new OffsetBatcher((ops) => this.txn(ops), opts.commitFlushMs);
    this.timer = setInterval(() => this.tick(), opts.tickMs ?? 50);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.reset(new UnavailableError('the coordinator is stopping'));
  }

  // ---- membership ----

  async join(groupId: string, meta: MemberMeta): Promise<JoinAnswer> {
    const e = await this.entry(groupId, true);
    const r = e.group.join(meta, this.now(), () => `${meta.clientId || 'member'}-${randomUUID()}`);
    if (r.dirty) await this.persist(e);
    if (r.answer) return r.answer;
    const pending = new Promise<JoinAnswer>((resolve, reject) => {
      const list = e.waiters.get(r.memberId) ?? [];
      list.push({ resolve, reject });
      e.waiters.set(r.memberId, list);
    });
    this.tickGroup(e, this.catalog());
    return pending;
  }

  async sync(groupId: string, memberId: string, generation: number): Promise<TopicPartition[]> {
    return (await this.member(groupId, memberId)).group.sync(memberId, generation);
  }

  async heartbeat(groupId: string, memberId: string, generation: number): Promise<void> {
    (await this.member(groupId, memberId)).group.heartbeat(memberId, generation, this.now());
  }

  async leave(groupId: string, memberId: string): Promise<void> {
    const e = await this.member(groupId, memberId);
    if (e.group.leave(memberId, this.now())) await this.persist(e);
    this.settle(e);
  }

  // ---- offsets ----

  async commit(
    groupId: string,
    memberId: string,
    generation: number,
    offsets: OffsetCommit[],
  ): Promise<void> {
    const e = await this.entry(groupId, true);
    e.group.checkCommit(memberId, generation);
    await this.writeOffsets(groupId, offsets);
  }

  /** Admin: offsets for a group that has no active members. */
  async resetOffsets(groupId: string, offsets: OffsetCommit[]): Promise<void> {
    const e = await this.entry(groupId, true);
    if (e.group.members.size > 0)
      throw new GroupNotEmptyError(
        `group "${groupId}" has ${e.group.members.size} active member(s): stop them before resetting its offsets`,
      );
    await this.writeOffsets(groupId, offsets);
  }

  async fetchOffsets(groupId: string, only: TopicPartition[]): Promise<StoredOffset[]> {
    await this.ready();
    const wanted = new Set(only.map((tp) => `${tp.topic}/${tp.partition}`));
    return this.storedOffsets(groupId).filter(
      (o) => wanted.size === 0 || wanted.has(`${o.topic}/${o.partition}`),
    );
  }

  // ---- administration ----

  async listGroups(): Promise<Group[]> {
    await this.ready();
    const ids = new Set<string>(this.groups.keys());
    for (const kv of this.range(GroupKeys.groups)) ids.add(kv.key.slice(GroupKeys.groups.length));
    for (const kv of this.range(GroupKeys.offsets)) {
      const k = parseOffsetKey(kv.key);
      if (k) ids.add(k.group);
    }
    const out: Group[] = [];
    for (const id of [...ids].sort()) {
      const e = await this.entry(id, false);
      out.push(e?.group ?? new Group(id, this.groupOpts));
    }
    return out;
  }

  async describeGroup(groupId: string): Promise<Group> {
    const e = await this.entry(groupId, false);
    if (e) return e.group;
    if (this.storedOffsets(groupId).length > 0) return new Group(groupId, this.groupOpts);
    throw new UnknownGroupError(groupId);
  }

  async deleteGroup(groupId: string): Promise<void> {
    const e = await this.entry(groupId, false);
    const hasOffsets = this.storedOffsets(groupId).length > 0;
    if (!e && !hasOffsets) throw new UnknownGroupError(groupId);
    if (e && e.group.members.size > 0)
      throw new GroupNotEmptyError(
        `group "${groupId}" has ${e.group.members.size} active member(s): stop them before deleting it`,
      );
    await this.batcher.flush();
    const offsets = Buffer.from(GroupKeys.groupOffsets(groupId));
    await this.txn([
      { t: 'del', key: offsets, end: prefixEnd(offsets) },
      { t: 'del', key: Buffer.from(GroupKeys.group(groupId)) },
    ]);
    this.groups.delete(groupId);
  }

  // ---- time ----

  private tick(): void {
    const s = this.node.status();
    if (s.role !== Role.Leader) {
      if (this.term !== -1) this.reset(new NotLeaderError(s.leader || undefined, s.leaderAddress));
      return;
    }
    this.requireLeader();
    const catalog = this.catalog();
    for (const e of this.groups.values()) this.tickGroup(e, catalog);
  }

  private tickGroup(e: Entry, catalog: Catalog): void {
    const r = e.group.tick(this.now(), catalog);
    if (!r.dirty && !r.completed) return;
    const completed = r.completed;
    this.persist(e).then(
      () => {
        if (completed) {
          for (const [memberId, answer] of completed) {
            for (const w of e.waiters.get(memberId) ?? []) w.resolve(answer);
            e.waiters.delete(memberId);
          }
        }
        this.settle(e);
      },
      (err: Error) => {
        for (const list of e.waiters.values()) for (const w of list) w.reject(err);
        e.waiters.clear();
        // What this node holds may no longer match the store: load it afresh next time.
        this.groups.delete(e.group.id);
      },
    );
  }

  /** Joins waiting for members that are gone will never be answered: fail them now. */
  private settle(e: Entry): void {
    for (const [memberId, list] of e.waiters) {
      if (e.group.members.has(memberId)) continue;
      for (const w of list)
        w.reject(
          new UnavailableError(`member "${memberId}" left group "${e.group.id}" while joining`),
        );
      e.waiters.delete(memberId);
    }
  }

  private reset(err: Error): void {
    for (const e of this.groups.values())
      for (const list of e.waiters.values()) for (const w of list) w.reject(err);
    this.groups.clear();
    this.loading.clear();
    this.batcher.fail(err);
    this.term = -1;
    this.catalogCache = undefined;
  }

  // ---- plumbing ----

  private async member(groupId: string, memberId: string): Promise<Entry> {
    const e = await this.entry(groupId, false);
    if (!e)
      throw new UnknownMemberIdError(
        `group "${groupId}" has no member "${memberId}" (no such group): join again`,
      );
    return e;
  }

  /** The group, loaded from the KV store the first time this leader sees it. */
  private async entry(groupId: string, create: true): Promise<Entry>;
  private async entry(groupId: string, create: false): Promise<Entry | undefined>;
  private async entry(groupId: string, create: boolean): Promise<Entry | undefined> {
    this.requireLeader();
    const known = this.groups.get(groupId);
    if (known) return known;
    let load = this.loading.get(groupId);
    if (!load) {
      load = this.load(groupId);
      this.loading.set(groupId, load);
      load.finally(() => this.loading.delete(groupId)).catch(() => undefined);
    }
    const loaded = await load;
    if (loaded) return loaded;
    if (!create) return undefined;
    const fresh = this.groups.get(groupId) ?? this.newEntry(new Group(groupId, this.groupOpts), 0);
    this.groups.set(groupId, fresh);
    return fresh;
  }

  private async load(groupId: string): Promise<Entry | undefined> {
    await this.ready();
    const kv = this.range(GroupKeys.group(groupId), true)[0];
    if (!kv) return undefined;
    const record = decodeRecord(GroupRecordSchema, kv.value) as GroupRecord;
    const e =
      this.groups.get(groupId) ??
      this.newEntry(Group.restore(record, this.groupOpts, this.now()), kv.modRevision);
    this.groups.set(groupId, e);
    return e;
  }

  private newEntry(group: Group, modRevision: number): Entry {
    return { group, modRevision, waiters: new Map(), writes: Promise.resolve() };
  }

  /** Writes the group record, in order per group, each a compare-and-set on the last one. */
  private persist(e: Entry): Promise<void> {
    const run = e.writes.then(async () => {
      const key = Buffer.from(GroupKeys.group(e.group.id));
      const r = await this.node.propose({
        t: 'txn',
        compare: [{ key, target: 'mod', result: '=', value: e.modRevision }],
        success: [{ t: 'put', key, value: Buffer.from(JSON.stringify(e.group.record())) }],
        failure: [],
      });
      if (r.t === 'error') throw new UnavailableError(r.message);
      if (r.t !== 'txn' || !r.succeeded)
        throw new UnavailableError(`group "${e.group.id}" changed elsewhere; retry`);
      e.modRevision = r.revision;
    });
    e.writes = run.catch(() => undefined);
    return run;
  }

  private async writeOffsets(groupId: string, offsets: OffsetCommit[]): Promise<void> {
    let catalog = this.catalog();
    if (offsets.some((o) => !catalog.has(o.topic))) catalog = this.catalog(true);
    for (const o of offsets) {
      const count = catalog.get(o.topic);
      if (count === undefined) throw new UnknownTopicError(o.topic);
      if (o.partition >= count) throw new UnknownPartitionError(o.topic, o.partition, count);
    }
    const at = this.now();
    await this.batcher.put(
      offsets.map((o) => ({
        key: GroupKeys.offset(groupId, o.topic, o.partition),
        value: Buffer.from(
          JSON.stringify({ offset: o.offset, metadata: o.metadata, commitTimestamp: at }),
        ),
      })),
    );
  }

  private storedOffsets(groupId: string): StoredOffset[] {
    const out: StoredOffset[] = [];
    for (const kv of this.range(GroupKeys.groupOffsets(groupId))) {
      const k = parseOffsetKey(kv.key);
      if (!k) continue;
      const v = decodeRecord(CommittedOffsetSchema, kv.value);
      out.push({ topic: k.topic, partition: k.partition, ...v });
    }
    return out.sort((a, b) =>
      a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition,
    );
  }

  /** Topics and partition counts, re-read at most every CATALOG_MAX_AGE_MS. */
  private catalog(fresh = false): Map<string, number> {
    const now = this.now();
    if (!fresh && this.catalogCache && now - this.catalogCache.at < CATALOG_MAX_AGE_MS)
      return this.catalogCache.catalog;
    const catalog = new Map<string, number>();
    for (const kv of this.range(MetaKeys.topics)) {
      const t = decodeRecord(TopicRecordSchema, kv.value);
      catalog.set(t.name, t.partitions);
    }
    this.catalogCache = { at: now, catalog };
    return catalog;
  }

  private range(key: string, exact = false): { key: string; value: Buffer; modRevision: number }[] {
    const k = Buffer.from(key);
    return this.node.sm.range(k, exact ? undefined : prefixEnd(k)).kvs.map((kv) => ({
      key: kv.key.toString('utf8'),
      value: Buffer.from(kv.value),
      modRevision: kv.modRevision,
    }));
  }

  private async txn(ops: KvOp[]): Promise<void> {
    this.requireLeader();
    const r = await this.node.propose({ t: 'txn', compare: [], success: ops, failure: [] });
    if (r.t === 'error') throw new UnavailableError(r.message);
  }

  /** Leads, and what is held in memory belongs to this term (a new term starts afresh). */
  private requireLeader(): void {
    const s = this.node.status();
    if (s.role !== Role.Leader) throw new NotLeaderError(s.leader || undefined, s.leaderAddress);
    if (s.term !== this.term) {
      this.reset(new NotLeaderError(s.leader || undefined, s.leaderAddress));
      this.term = s.term;
    }
  }

  private async ready(): Promise<void> {
    this.requireLeader();
    await this.node.linearizable();
    this.requireLeader();
  }
}
