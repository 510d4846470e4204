import { randomUUID } from 'node:crypto';
import { type KvNode, Role } from '@strand/kv';
import {
  GroupNotEmptyError,
  InconsistentGroupProtocolError,
  NotLeaderError,
  type StrandError,
  UnavailableError,
  UnknownGroupError,
  UnknownMemberIdError,
} from '@strand/wire';
import { MalformedRecords } from '../malformed.js';
import type { TopicPartition } from './assignors.js';
import {
  ClassicGroup,
  type ClassicJoin,
  type ClassicJoinAnswer,
  type ClassicRecord,
  type ClassicSync,
  type ClassicSyncAnswer,
  type Effects,
} from './classic-group.js';
import {
  type Catalog,
  Group,
  type GroupRecord,
  type JoinAnswer,
  type MemberMeta,
} from './group.js';
import { GroupStore, type OffsetCommit, type StoredOffset } from './group-store.js';
import { classicRecordJson } from './records.js';
import { Waiters } from './waiters.js';

export type { OffsetCommit, StoredOffset } from './group-store.js';

export interface GroupCoordinatorOptions {
  /** An empty group waits this long for more members before its first generation. */
  initialRebalanceDelayMs: number;
  /** How long offset commits gather before they go to Raft as one transaction. */
  commitFlushMs: number;
  tickMs?: number;
  now?: () => number;
  /** Where records that do not decode are noted (shared with the controller). */
  malformed?: MalformedRecords;
  /** Told when a group's new generation is stored: a rebalance completed. */
  rebalanced?: (group: { id: string; generation: number; members: number }) => void;
}

/** What an operator sees of a group on the active coordinator (its metrics). */
export interface GroupSnapshot {
  id: string;
  state: string;
  members: number;
  generation: number;
  offsets: StoredOffset[];
}

/** A group of Strand SDK members (assigned here) or of Kafka clients (assigned by their leader). */
export type AnyGroup = Group | ClassicGroup;

interface Entry {
  group: AnyGroup;
  /** modRevision of the group record (0: none yet): writes are compare-and-set on it. */
  modRevision: number;
  waiters: Waiters;
  /** The chain of this group's record writes (never rejects). */
  writes: Promise<unknown>;
  /** The generation of the record last written (a rebalance writes a newer one). */
  storedGeneration: number;
}

/** Who may be in a group: Strand's members, or Kafka's classic protocol members. */
type Kind = 'strand' | 'classic';
const kindOf = (g: AnyGroup): Kind => (g instanceof ClassicGroup ? 'classic' : 'strand');

/**
 * The group coordinator: active on the Raft leader only. Group state lives in memory; each
 * completed generation is written to the KV store (compare-and-set on the group record) before
 * any member hears of it, so a new leader restores the last generation and members carry on
 * without a rebalance. Offsets are KV keys, written in batches. A group holds either Strand SDK
 * members or Kafka clients; an empty group may change kind.
 */
export class GroupCoordinator {
  private groups = new Map<string, Entry>();
  private loading = new Map<string, Promise<Entry | undefined>>();
  private term = -1;
  private readonly store: GroupStore;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly groupOpts;
  private readonly rebalanced: GroupCoordinatorOptions['rebalanced'];

  constructor(
    private readonly node: KvNode,
    opts: GroupCoordinatorOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.groupOpts = { initialDelayMs: opts.initialRebalanceDelayMs };
    this.rebalanced = opts.rebalanced;
    this.store = new GroupStore(
      node,
      opts.commitFlushMs,
      this.now,
      () => this.requireLeader(),
      opts.malformed ?? new MalformedRecords(),
    );
    this.timer = setInterval(() => this.tick(), opts.tickMs ?? 50);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.reset(new UnavailableError('the coordinator is stopping'));
  }

  // ---- Strand SDK members ----

  async join(groupId: string, meta: MemberMeta): Promise<JoinAnswer> {
    const e = await this.live(groupId, 'strand');
    const g = e.group as Group;
    const r = g.join(meta, this.now(), () => `${meta.clientId || 'member'}-${randomUUID()}`);
    if (r.dirty) await this.persist(e);
    if (r.answer) return r.answer;
    const pending = e.waiters.wait<JoinAnswer>(r.memberId, 'join');
    this.tickGroup(e, this.store.catalog());
    return pending;
  }

  async sync(groupId: string, memberId: string, generation: number): Promise<TopicPartition[]> {
    return (await this.member(groupId, memberId, Group)).sync(memberId, generation);
  }

  async heartbeat(groupId: string, memberId: string, generation: number): Promise<void> {
    (await this.member(groupId, memberId, Group)).heartbeat(memberId, generation, this.now());
  }

  async leave(groupId: string, memberId: string): Promise<void> {
    const g = await this.member(groupId, memberId, Group);
    const e = this.groups.get(groupId)!;
    if (g.leave(memberId, this.now())) await this.persist(e);
    this.settle(e);
  }

  // ---- Kafka clients (the classic protocol) ----

  async classicJoin(groupId: string, req: ClassicJoin): Promise<ClassicJoinAnswer> {
    const e = await this.live(groupId, 'classic');
    const g = e.group as ClassicGroup;
    const r = g.join(req, this.now(), () => `${req.clientId || 'member'}-${randomUUID()}`);
    const answer = e.waiters.wait<ClassicJoinAnswer>(r.memberId, 'join');
    this.apply(e, r);
    this.apply(e, g.tick(this.now())); // the last member in completes the rebalance now
    return answer;
  }

  async classicSync(groupId: string, req: ClassicSync): Promise<ClassicSyncAnswer> {
    const g = await this.member(groupId, req.memberId, ClassicGroup);
    const e = this.groups.get(groupId)!;
    const fx = g.sync(req, this.now());
    const answer = e.waiters.wait<ClassicSyncAnswer>(req.memberId, 'sync');
    this.apply(e, fx);
    return answer;
  }

  async classicHeartbeat(
    groupId: string,
    memberId: string,
    instanceId: string,
    generation: number,
  ): Promise<void> {
    const g = await this.member(groupId, memberId, ClassicGroup);
    g.heartbeat(memberId, instanceId, generation, this.now());
  }

  /** Each leaving member's answer, in order (undefined: it left). */
  async classicLeave(
    groupId: string,
    who: { memberId: string; instanceId: string }[],
  ): Promise<(StrandError | undefined)[]> {
    const e = await this.entry(groupId, false);
    if (!e || !(e.group instanceof ClassicGroup))
      return who.map(
        (w) => new UnknownMemberIdError(`group "${groupId}" has no member "${w.memberId}"`),
      );
    const r = e.group.leave(who, this.now());
    this.apply(e, r);
    await (r.persist ? e.writes : undefined);
    return r.results;
  }

  // ---- offsets ----

  /** A Strand member's commit: all of `offsets` or none. */
  async commit(
    groupId: string,
    memberId: string,
    generation: number,
    offsets: OffsetCommit[],
  ): Promise<void> {
    const e = await this.entry(groupId, true);
    if (e.group instanceof ClassicGroup)
      e.group.checkCommit(
        memberId,
        memberId === '' && generation === 0 ? -1 : generation,
        this.now(),
      );
    else e.group.checkCommit(memberId, generation);
    const bad = this.store.checkOffsets(offsets).find((x) => x !== undefined);
    if (bad) throw bad;
    await this.store.writeOffsets(groupId, offsets);
  }

  /**
   * A Kafka client's commit (generation < 0: from outside the group, which must be empty).
   * Group-level problems throw; each offset gets its own answer (undefined: committed).
   */
  async classicCommit(
    groupId: string,
    from: { memberId: string; instanceId: string; generation: number },
    offsets: OffsetCommit[],
  ): Promise<(StrandError | undefined)[]> {
    const e = await this.entry(groupId, true);
    if (e.group instanceof ClassicGroup)
      e.group.checkCommit(from.memberId, from.generation, this.now(), from.instanceId);
    else if (from.generation < 0) e.group.checkCommit('', 0);
    else throw new UnknownMemberIdError(`group "${groupId}" has no member "${from.memberId}"`);
    const results = this.store.checkOffsets(offsets);
    await this.store.writeOffsets(
      groupId,
      offsets.filter((_, i) => results[i] === undefined),
    );
    return results;
  }

  /** Admin: offsets for a group that has no active members. */
  async resetOffsets(groupId: string, offsets: OffsetCommit[]): Promise<void> {
    const e = await this.entry(groupId, true);
    if (e.group.members.size > 0)
      throw new GroupNotEmptyError(
        `group "${groupId}" has ${e.group.members.size} active member(s): stop them before resetting its offsets`,
      );
    const bad = this.store.checkOffsets(offsets).find((x) => x !== undefined);
    if (bad) throw bad;
    await this.store.writeOffsets(groupId, offsets);
  }

  async fetchOffsets(groupId: string, only: TopicPartition[]): Promise<StoredOffset[]> {
    await this.ready();
    const wanted = new Set(only.map((tp) => `${tp.topic}/${tp.partition}`));
    return this.store
      .offsets(groupId)
      .filter((o) => wanted.size === 0 || wanted.has(`${o.topic}/${o.partition}`));
  }

  // ---- administration ----

  /**
   * Every group this leader knows, from what it holds (no Raft round): in memory, or stored
   * (a group not loaded since this node became leader shows its stored offsets only).
   * Empty on a follower.
   */
  snapshot(): GroupSnapshot[] {
    if (this.node.status().role !== Role.Leader) return [];
    const ids = this.store.groupIds();
    for (const id of this.groups.keys()) ids.add(id);
    return [...ids].sort().map((id) => {
      const g = this.groups.get(id)?.group;
      return {
        id,
        state: g?.state ?? 'EMPTY',
        members: g?.members.size ?? 0,
        generation: g?.generation ?? 0,
        offsets: this.store.offsets(id),
      };
    });
  }

  async listGroups(): Promise<AnyGroup[]> {
    await this.ready();
    const ids = this.store.groupIds();
    for (const id of this.groups.keys()) ids.add(id);
    const out: AnyGroup[] = [];
    for (const id of [...ids].sort()) {
      const e = await this.entry(id, false);
      out.push(e?.group ?? new Group(id, this.groupOpts));
    }
    return out;
  }

  async describeGroup(groupId: string): Promise<AnyGroup> {
    const e = await this.entry(groupId, false);
    if (e) return e.group;
    if (this.store.offsets(groupId).length > 0) return new Group(groupId, this.groupOpts);
    throw new UnknownGroupError(groupId);
  }

  async deleteGroup(groupId: string): Promise<void> {
    const e = await this.entry(groupId, false);
    const hasOffsets = this.store.offsets(groupId).length > 0;
    if (!e && !hasOffsets) throw new UnknownGroupError(groupId);
    if (e && e.group.members.size > 0)
      throw new GroupNotEmptyError(
        `group "${groupId}" has ${e.group.members.size} active member(s): stop them before deleting it`,
      );
    await this.store.deleteGroup(groupId);
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
    const catalog = this.store.catalog();
    for (const e of this.groups.values()) {
      if (e.group instanceof ClassicGroup) this.apply(e, e.group.tick(this.now()));
      else this.tickGroup(e, catalog);
    }
  }

  private tickGroup(e: Entry, catalog: Catalog): void {
    const r = (e.group as Group).tick(this.now(), catalog);
    if (!r.dirty && !r.completed) return;
    const completed = r.completed;
    this.persist(e).then(
      () => {
        for (const [memberId, answer] of completed ?? [])
          e.waiters.resolve(memberId, 'join', answer);
        this.settle(e);
      },
      (err: Error) => this.drop(e, err),
    );
  }

  /** A classic group's step: persist first when it asks, then answer the waiting members in order. */
  private apply(e: Entry, fx: Effects): void {
    if (!fx.persist && fx.outcomes.length === 0) return;
    const done = fx.persist ? this.persist(e) : e.writes;
    done.then(
      () => {
        for (const o of fx.outcomes)
          if ('error' in o) e.waiters.reject(o.memberId, o.call, o.error);
          else e.waiters.resolve(o.memberId, o.call, o.answer);
      },
      (err: Error) => this.drop(e, err),
    );
  }

  /** Joins waiting for members that are gone will never be answered: fail them now. */
  private settle(e: Entry): void {
    e.waiters.settle(
      (id) => e.group.members.has(id),
      (id) => new UnavailableError(`member "${id}" left group "${e.group.id}" while joining`),
    );
  }

  /** A record write failed: what this node holds may no longer match the store; load it afresh. */
  private drop(e: Entry, err: Error): void {
    e.waiters.rejectAll(err);
    if (this.groups.get(e.group.id) === e) this.groups.delete(e.group.id);
  }

  private reset(err: Error): void {
    for (const e of this.groups.values()) e.waiters.rejectAll(err);
    this.groups.clear();
    this.loading.clear();
    this.store.fail(err);
    this.term = -1;
  }

  // ---- plumbing ----

  /** A group for members of `kind`: an empty group of the other kind becomes one. */
  private async live(groupId: string, kind: Kind): Promise<Entry> {
    const e = await this.entry(groupId, true);
    if (kindOf(e.group) === kind) return e;
    const n = e.group.members.size;
    if (n > 0)
      throw new InconsistentGroupProtocolError(
        `group "${groupId}" has ${n} member(s) using ${kind === 'classic' ? "Strand's own group protocol" : "Kafka's group protocol"}: choose another group id`,
      );
    const generation = e.group.generation;
    if (kind === 'classic') e.group = new ClassicGroup(groupId, this.groupOpts, generation);
    else {
      e.group = new Group(groupId, this.groupOpts);
      e.group.generation = generation;
    }
    return e;
  }

  private async member<G extends AnyGroup>(
    groupId: string,
    memberId: string,
    kind: new (...a: never[]) => G,
  ): Promise<G> {
    const e = await this.entry(groupId, false);
    if (!e || !(e.group instanceof kind))
      throw new UnknownMemberIdError(
        `group "${groupId}" has no member "${memberId}" (no such group): join again`,
      );
    return e.group;
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
    const kv = this.store.groupRecord(groupId);
    if (!kv) return undefined;
    const record = this.store.decodeGroupRecord(kv);
    // A record that does not decode starts the group afresh; its next write replaces it.
    const group = !record
      ? new Group(groupId, this.groupOpts)
      : 'kind' in record
        ? ClassicGroup.restore(record as ClassicRecord, this.groupOpts, this.now())
        : Group.restore(record as GroupRecord, this.groupOpts, this.now());
    const e = this.groups.get(groupId) ?? this.newEntry(group, kv.modRevision);
    this.groups.set(groupId, e);
    return e;
  }

  private newEntry(group: AnyGroup, modRevision: number): Entry {
    return {
      group,
      modRevision,
      waiters: new Waiters(),
      writes: Promise.resolve(),
      storedGeneration: group.generation,
    };
  }

  /** Writes the group record, in order per group, each a compare-and-set on the last one. */
  private persist(e: Entry): Promise<void> {
    const run = e.writes.then(async () => {
      const g = e.group;
      const json =
        g instanceof ClassicGroup ? classicRecordJson(g.record()) : JSON.stringify(g.record());
      e.modRevision = await this.store.putGroupRecord(g.id, json, e.modRevision);
      if (g.generation > e.storedGeneration) {
        e.storedGeneration = g.generation;
        this.rebalanced?.({ id: g.id, generation: g.generation, members: g.members.size });
      }
    });
    e.writes = run.catch(() => undefined);
    return run;
  }

  /** Leads, and what is held in memory belongs to this term (a new term starts afresh). */
  private requireLeader(): void {
    // header(), not status(): this runs several times for every group call, and status()
    // lists the members and their formats, which only a refusal needs (for the redirect).
    const h = this.node.header();
    if (h.leader !== h.id) {
      const s = this.node.status();
      throw new NotLeaderError(s.leader || undefined, s.leaderAddress);
    }
    if (h.term !== this.term) {
      this.reset(new NotLeaderError(h.id, this.node.status().leaderAddress));
      this.term = h.term;
    }
  }

  private async ready(): Promise<void> {
    this.requireLeader();
    await this.node.linearizable();
    this.requireLeader();
  }
}
