import { CompactedError, ErrorCode, type KeyValue } from '@strand/wire';
import { type BatchOp, type KvDb, prefixEnd, u64 } from '../storage/db.js';
import type { Compare, KvCommand, KvOp } from './command.js';
import { decodeKvCommand, ENTRY_VERSION, UnsupportedFormatError } from './command-codec.js';
import { KeyIndex } from './key-index.js';
import { eventFromRecord, eventJson, type KvRecord, kvFromRecord, kvJson } from './row-json.js';
import { UnversionedRows } from './rows.js';
import { SnapshotReader } from './snapshot-reader.js';
import { SnapshotView } from './snapshot-view.js';

export type { KeyValue };

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  prevKv?: KeyValue;
  revision: number;
}

export type KvResult =
  | { t: 'put'; revision: number; prevKv?: KeyValue }
  | { t: 'del'; revision: number; deleted: number; prevKvs: KeyValue[] }
  | { t: 'get'; revision: number; kvs: KeyValue[]; count: number; more: boolean }
  | { t: 'txn'; revision: number; succeeded: boolean; responses: KvResult[] }
  | { t: 'lease'; revision: number; id: number; ttlMs: number }
  | { t: 'compact'; revision: number }
  | { t: 'format'; revision: number; version: number }
  | { t: 'rows'; revision: number }
  | { t: 'error'; revision: number; code: string; message: string };

export interface ApplyEntry {
  index: number;
  term: number;
  /** Command bytes; undefined for entries with no command (no-ops, conf changes). */
  data?: Uint8Array;
}

type Listener = (events: WatchEvent[]) => void;
interface Watcher {
  start: Buffer;
  end: Buffer | undefined;
  /** The first revision it wants: one past this node's (a lagging replica) is waited for. */
  from: number;
  listener: Listener;
  buffered: WatchEvent[] | undefined;
}

const META = Buffer.from('ma');
const KEY = Buffer.from('k');
const HIST = Buffer.from('v');
const LEASE = Buffer.from('l');

const keyRow = (key: Buffer) => Buffer.concat([KEY, key]);
const histRow = (rev: number, sub: number) => {
  const b = Buffer.alloc(12);
  b.writeBigUInt64BE(BigInt(rev));
  b.writeUInt32BE(sub, 8);
  return Buffer.concat([HIST, b]);
};

/**
 * An entry's commands (none for a no-op). A damaged entry of a known format is applied as a
 * no-op on every replica alike (with an error result); one in a format this build cannot read
 * throws: applying it as a no-op would diverge from the replicas that can, so this node stops
 * (the driver exits with the message).
 */
function decodeEntry(
  e: ApplyEntry,
  maxFormat: number,
): {
  commands: { requestId: string; command: KvCommand }[];
  error?: string;
} {
  if (!e.data || e.data.length === 0) return { commands: [] };
  let commands: { requestId: string; command: KvCommand }[];
  try {
    commands = decodeKvCommand(e.data, maxFormat);
  } catch (err) {
    if (err instanceof UnsupportedFormatError) throw err;
    return { commands: [], error: (err as Error).message };
  }
  // The cluster moving to a format this node cannot read: the entries after it would be.
  for (const { command } of commands)
    if (command.t === 'format' && command.version > maxFormat)
      throw new UnsupportedFormatError(command.version, maxFormat);
  return { commands };
}

function inRange(key: Buffer, start: Buffer, end: Buffer | undefined): boolean {
  if (end === undefined) return key.equals(start);
  return Buffer.compare(key, start) >= 0 && Buffer.compare(key, end) < 0;
}

interface Mutation {
  rev: number;
  events: WatchEvent[];
  ops: BatchOp[];
}

/**
 * The versioned KV state machine (etcd's model): a global revision that grows by one per
 * mutating command, and per key createRevision, modRevision and version. Deterministic:
 * every replica that applies the same entries reaches the same state. Live keys and leases
 * are held in memory and written through to RocksDB together with the applied index, in
 * one batch per `applyEntries`, so a restart resumes right after the last applied entry.
 */
export class KvStateMachine {
  appliedIndex = 0;
  appliedTerm = 0;
  revision = 0;
  compactRevision = 0;
  /**
   * The entry format the cluster has activated (entry-format.ts): leaders write it. Starts at
   * 0 (JSON), only grows, and is kept with the applied index and in snapshots.
   */
  format = 0;
  // Replaced whole by a restore (see there), never otherwise.
  private keys = new Map<string, KeyValue>();
  private index = new KeyIndex(this.keys);
  private readonly leases = new Map<number, { ttlMs: number; owner?: string; keys: Set<string> }>();
  /** Rows outside the versioned keyspace (the `rows` command, format 2). */
  private readonly rows = new UnversionedRows();
  private readonly watchers = new Set<Watcher>();
  private pendingCompaction: number | undefined;

  private constructor(
    private readonly db: KvDb,
    /** The newest entry format this node reads (ENTRY_VERSION unless started limited). */
    readonly maxFormat: number,
  ) {}

  /** Throws UnsupportedFormatError when the cluster's format is past what this node reads. */
  static async open(db: KvDb, maxFormat = ENTRY_VERSION): Promise<KvStateMachine> {
    const sm = new KvStateMachine(db, maxFormat);
    await sm.load();
    sm.checkFormat(sm.format);
    return sm;
  }

  private checkFormat(format: number): void {
    if (format > this.maxFormat) throw new UnsupportedFormatError(format, this.maxFormat);
  }

  private async load(): Promise<void> {
    const meta = await this.db.get(META);
    if (meta) Object.assign(this, JSON.parse(meta.toString()) as Record<string, number>);
    for (const [, v] of await this.db.entries({ gte: KEY, lt: prefixEnd(KEY) })) {
      const kv = kvFromRecord(JSON.parse(v.toString()) as KvRecord);
      this.setKey(kv.key.toString('latin1'), kv);
    }
    for (const [k, v] of await this.db.entries({ gte: LEASE, lt: prefixEnd(LEASE) })) {
      const id = Number(k.readBigUInt64BE(1));
      const { ttlMs, owner } = JSON.parse(v.toString()) as { ttlMs: number; owner?: string };
      this.leases.set(id, { ttlMs, ...(owner !== undefined ? { owner } : {}), keys: new Set() });
    }
    for (const [name, kv] of this.keys) if (kv.lease) this.leases.get(kv.lease)?.keys.add(name);
    await this.rows.load(this.db);
  }

  /**
   * Applies committed entries in order, in one RocksDB batch. Entries at or below the applied
   * index are skipped (a replay after restart). Returns each proposal's result by request id.
   */
  async applyEntries(entries: ApplyEntry[], sync = false): Promise<Map<string, KvResult>> {
    const results = new Map<string, KvResult>();
    const ops: BatchOp[] = [];
    const events: WatchEvent[] = [];
    let last: ApplyEntry | undefined;
    // Decoded first: an entry this build cannot read stops the batch before anything changes.
    const decoded = entries
      .filter((e) => e.index > this.appliedIndex)
      .map((e) => ({ e, ...decodeEntry(e, this.maxFormat) }));
    for (const { e, commands, error } of decoded) {
      last = e;
      this.appliedIndex = e.index;
      this.appliedTerm = e.term;
      if (error !== undefined) {
        const code = ErrorCode.InvalidRequest;
        results.set(`bad:${e.index}`, {
          t: 'error',
          revision: this.revision,
          code,
          message: error,
        });
      }
      for (const { requestId, command } of commands) {
        const m: Mutation = { rev: this.revision + 1, events: [], ops };
        const result = this.execute(command, m);
        if (m.events.length > 0) this.revision = m.rev;
        events.push(...m.events);
        results.set(requestId, result);
      }
    }
    if (!last) return results;
    ops.push({ type: 'put', key: META, value: this.metaValue() });
    await this.db.batch(ops, sync);
    if (this.pendingCompaction !== undefined) {
      const revision = this.pendingCompaction;
      this.pendingCompaction = undefined;
      await this.compactHistory(revision);
    }
    if (events.length > 0) this.dispatch(events);
    return results;
  }

  /** Reads the current state (callers decide whether that is linearizable). */
  range(
    key: Buffer,
    end?: Buffer,
    limit = 0,
  ): { kvs: KeyValue[]; count: number; more: boolean; revision: number } {
    if (end === undefined) {
      const kv = this.keys.get(key.toString('latin1'));
      const kvs = kv ? [kv] : [];
      return { kvs, count: kvs.length, more: false, revision: this.revision };
    }
    const { names, count } = this.index.page(key.toString('latin1'), end.toString('latin1'), limit);
    const kvs = names.map((name) => this.keys.get(name)!);
    return { kvs, count, more: kvs.length < count, revision: this.revision };
  }

  /** The unversioned rows in [key, end) (end absent: the row `key`), in key order. */
  rowRange(key: Buffer, end?: Buffer): { key: Buffer; value: Buffer }[] {
    return this.rows.range(key, end);
  }

  listLeases(): { id: number; ttlMs: number; keys: number }[] {
    return [...this.leases].map(([id, l]) => ({ id, ttlMs: l.ttlMs, keys: l.keys.size }));
  }

  /** How much the store holds now: live keys, leases and open watches. */
  stats(): { keys: number; leases: number; watches: number; rows: number } {
    return {
      keys: this.keys.size,
      leases: this.leases.size,
      watches: this.watchers.size,
      rows: this.rows.size,
    };
  }

  /** The keys attached to lease `id` (none when there is no such lease). */
  leaseKeys(id: number): Buffer[] {
    return [...(this.leases.get(id)?.keys ?? [])].map((name) => Buffer.from(name, 'latin1'));
  }

  /**
   * Who granted lease `id`: its principal, '' for one granted without authentication, or
   * undefined when there is no such lease.
   */
  leaseOwner(id: number): string | undefined {
    const lease = this.leases.get(id);
    return lease && (lease.owner ?? '');
  }

  hasLease(id: number): boolean {
    return this.leases.has(id);
  }

  /**
   * Streams events for `key` (or [key, end)) from `fromRevision` (0: only new events). Past
   * events come from history, then live ones, with no gap and no duplicate. A revision this
   * node has not reached yet (it lags the leader, or the watcher resumes from another node)
   * is waited for: nothing older is sent. Throws CompactedError when that history is gone.
   */
  async watch(
    key: Buffer,
    end: Buffer | undefined,
    fromRevision: number,
    listener: Listener,
  ): Promise<() => void> {
    if (fromRevision > 0 && fromRevision <= this.compactRevision)
      throw new CompactedError(this.compactRevision);
    const w: Watcher = { start: key, end, from: fromRevision, listener, buffered: [] };
    this.watchers.add(w);
    const upto = this.revision;
    if (fromRevision > 0 && fromRevision <= upto) {
      const rows = await this.db.entries({
        gte: histRow(fromRevision, 0),
        lt: histRow(upto + 1, 0),
      });
      const past = rows
        .map(([, v]) => eventFromRecord(JSON.parse(v.toString())))
        .filter((ev) => inRange(ev.kv.key, key, end));
      if (past.length > 0) listener(past);
    }
    const pending = (w.buffered ?? []).filter((ev) => ev.revision > upto);
    w.buffered = undefined;
    if (pending.length > 0) listener(pending);
    return () => {
      this.watchers.delete(w);
    };
  }

  /** The live state (keys, rows, leases, revisions) for a Raft snapshot, as of now. */
  snapshotView(): SnapshotView {
    return new SnapshotView([...this.keys.values()], (kv) => kvJson(kv), {
      revision: this.revision,
      compactRevision: this.compactRevision,
      leases: [...this.leases].map(([id, l]) => ({ id, ttlMs: l.ttlMs, owner: l.owner })),
      format: this.format,
      rows: this.rows.capture(),
    });
  }

  /**
   * Replaces the whole state with a snapshot taken at (index, term); history restarts there.
   * Read and written a slice of keys at a time; crash-safe all the same: the applied index
   * moves only with the last, synced write, and until then the node restores it again on
   * opening (the Raft store keeps the snapshot it received).
   */
  async restore(data: Uint8Array, index: number, term: number): Promise<void> {
    const snap = new SnapshotReader(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    const rest = snap.rest as {
      revision: number;
      compactRevision: number;
      leases: { id: number; ttlMs: number; owner?: string }[];
      /** Absent in snapshots taken before formats were versioned: those clusters wrote 0. */
      format?: number;
      /** Absent in snapshots taken before format 2: those clusters had none. */
      rows?: [string, string][];
    };
    this.checkFormat(rest.format ?? 0);
    for (const prefix of [KEY, HIST, LEASE])
      await this.db.deleteRange({ gte: prefix, lt: prefixEnd(prefix) });
    // Read into a map of its own, in place at the end in one step: reads served meanwhile
    // (stale ones, on a follower) see the state before, never half of the new one.
    const keys = new Map<string, KeyValue>();
    const names = new KeyIndex(keys);
    for await (const records of snap.keys()) {
      const ops: BatchOp[] = [];
      for (const j of records as KvRecord[]) {
        const kv = kvFromRecord(j);
        const name = kv.key.toString('latin1');
        if (!keys.has(name)) names.add(name);
        keys.set(name, kv);
        ops.push({ type: 'put', key: keyRow(kv.key), value: Buffer.from(kvJson(kv, j.key)) });
      }
      await this.db.batch(ops, false);
    }
    this.keys = keys;
    this.index = names;
    this.leases.clear();
    const ops: BatchOp[] = [];
    for (const l of rest.leases) {
      const row = { ttlMs: l.ttlMs, ...(l.owner !== undefined ? { owner: l.owner } : {}) };
      this.leases.set(l.id, { ...row, keys: new Set() });
      ops.push({
        type: 'put',
        key: Buffer.concat([LEASE, u64(l.id)]),
        value: Buffer.from(JSON.stringify(row)),
      });
    }
    for (const [name, kv] of this.keys) if (kv.lease) this.leases.get(kv.lease)?.keys.add(name);
    await this.rows.restore(this.db, rest.rows ?? [], ops);
    this.revision = rest.revision;
    this.format = rest.format ?? 0;
    // Events before the snapshot are not kept: watching from there is a compaction error.
    this.compactRevision = Math.max(rest.compactRevision, rest.revision);
    this.appliedIndex = index;
    this.appliedTerm = term;
    ops.push({ type: 'put', key: META, value: this.metaValue() });
    await this.db.batch(ops, true);
  }

  // ---- commands ----

  private execute(cmd: KvCommand, m: Mutation): KvResult {
    switch (cmd.t) {
      case 'put':
      case 'del':
      case 'get':
        return this.op(cmd, m);
      case 'txn': {
        const succeeded = cmd.compare.every((c) => this.compare(c));
        const responses = (succeeded ? cmd.success : cmd.failure).map((op) => this.op(op, m));
        const failed = responses.find((r) => r.t === 'error');
        if (failed) return failed;
        return {
          t: 'txn',
          revision: m.events.length > 0 ? m.rev : this.revision,
          succeeded,
          responses,
        };
      }
      case 'leaseGrant': {
        if (this.leases.has(cmd.id))
          return this.error(ErrorCode.InvalidRequest, `lease ${cmd.id} already exists`);
        const row = { ttlMs: cmd.ttlMs, ...(cmd.owner !== undefined ? { owner: cmd.owner } : {}) };
        this.leases.set(cmd.id, { ...row, keys: new Set() });
        m.ops.push({
          type: 'put',
          key: Buffer.concat([LEASE, u64(cmd.id)]),
          value: Buffer.from(JSON.stringify(row)),
        });
        return { t: 'lease', revision: this.revision, id: cmd.id, ttlMs: cmd.ttlMs };
      }
      case 'leaseRevoke': {
        const lease = this.leases.get(cmd.id);
        if (!lease)
          return this.error(
            ErrorCode.LeaseNotFound,
            `lease ${cmd.id} not found (expired or revoked)`,
          );
        for (const name of [...lease.keys]) this.deleteKey(name, m);
        this.leases.delete(cmd.id);
        m.ops.push({ type: 'del', key: Buffer.concat([LEASE, u64(cmd.id)]) });
        return {
          t: 'lease',
          revision: m.events.length > 0 ? m.rev : this.revision,
          id: cmd.id,
          ttlMs: 0,
        };
      }
      case 'compact': {
        if (cmd.revision > this.revision)
          return this.error(
            ErrorCode.InvalidRequest,
            `revision ${cmd.revision} is in the future (current ${this.revision})`,
          );
        if (cmd.revision <= this.compactRevision)
          return this.error(
            ErrorCode.Compacted,
            `revision ${cmd.revision} is already compacted (${this.compactRevision})`,
          );
        this.compactRevision = cmd.revision;
        // History rows below the compact revision go once this batch is written.
        this.pendingCompaction = cmd.revision;
        return { t: 'compact', revision: this.revision };
      }
      case 'format':
        // Never back: a leader that proposed it late, after a newer one, changes nothing.
        this.format = Math.max(this.format, cmd.version);
        return { t: 'format', revision: this.revision, version: this.format };
      case 'rows':
        this.rows.apply(cmd.ops, m.ops);
        return { t: 'rows', revision: this.revision };
    }
  }

  private op(op: KvOp, m: Mutation): KvResult {
    switch (op.t) {
      case 'get': {
        const r = this.range(op.key, op.end, op.limit ?? 0);
        return { t: 'get', ...r };
      }
      case 'put': {
        if (op.lease && !this.leases.has(op.lease))
          return this.error(
            ErrorCode.LeaseNotFound,
            `lease ${op.lease} not found (expired or revoked)`,
          );
        const name = op.key.toString('latin1');
        const prev = this.keys.get(name);
        const kv: KeyValue = {
          key: op.key,
          value: op.value,
          createRevision: prev ? prev.createRevision : m.rev,
          modRevision: m.rev,
          version: (prev?.version ?? 0) + 1,
          lease: op.lease ?? 0,
        };
        if (prev?.lease) this.leases.get(prev.lease)?.keys.delete(name);
        if (kv.lease) this.leases.get(kv.lease)!.keys.add(name);
        this.setKey(name, kv);
        const key64 = op.key.toString('base64');
        const text = kvJson(kv, key64);
        m.ops.push({ type: 'put', key: keyRow(op.key), value: Buffer.from(text) });
        this.record({ type: 'put', kv, ...(prev ? { prevKv: prev } : {}), revision: m.rev }, m, {
          key64,
          text,
        });
        return { t: 'put', revision: m.rev, ...(op.prevKv && prev ? { prevKv: prev } : {}) };
      }
      case 'del': {
        const victims = this.range(op.key, op.end).kvs;
        for (const kv of victims) this.deleteKey(kv.key.toString('latin1'), m);
        return {
          t: 'del',
          revision: victims.length > 0 ? m.rev : this.revision,
          deleted: victims.length,
          prevKvs: op.prevKv ? victims : [],
        };
      }
    }
  }

  private deleteKey(name: string, m: Mutation): void {
    const prev = this.keys.get(name);
    if (!prev) return;
    this.keys.delete(name);
    this.index.remove();
    if (prev.lease) this.leases.get(prev.lease)?.keys.delete(name);
    m.ops.push({ type: 'del', key: keyRow(prev.key) });
    const tomb: KeyValue = {
      key: prev.key,
      value: Buffer.alloc(0),
      createRevision: 0,
      modRevision: m.rev,
      version: 0,
      lease: 0,
    };
    this.record({ type: 'delete', kv: tomb, prevKv: prev, revision: m.rev }, m);
  }

  /** `built`: the event's key in base64 and its record's JSON, when the caller has them. */
  private record(ev: WatchEvent, m: Mutation, built?: { key64: string; text: string }): void {
    m.ops.push({
      type: 'put',
      key: histRow(m.rev, m.events.length),
      value: Buffer.from(built ? eventJson(ev, built.key64, built.text) : eventJson(ev)),
    });
    m.events.push(ev);
  }

  private compare(c: Compare): boolean {
    const kv = this.keys.get(c.key.toString('latin1'));
    let cmp: number;
    if (c.target === 'value') {
      if (!kv || !Buffer.isBuffer(c.value)) return false;
      cmp = Buffer.compare(kv.value, c.value);
    } else {
      // Refused when proposed; an entry from before that check compares false everywhere
      // rather than throw on every replica, forever, at the same index.
      if (typeof c.value !== 'number') return false;
      const actual =
        c.target === 'version'
          ? (kv?.version ?? 0)
          : c.target === 'create'
            ? (kv?.createRevision ?? 0)
            : (kv?.modRevision ?? 0);
      cmp = Math.sign(actual - c.value);
    }
    switch (c.result) {
      case '=':
        return cmp === 0;
      case '!=':
        return cmp !== 0;
      case '<':
        return cmp < 0;
      case '>':
        return cmp > 0;
    }
  }

  private setKey(name: string, kv: KeyValue): void {
    if (!this.keys.has(name)) this.index.add(name);
    this.keys.set(name, kv);
  }

  private error(code: string, message: string): KvResult {
    return { t: 'error', revision: this.revision, code, message };
  }

  private metaValue(): Buffer {
    return Buffer.from(
      JSON.stringify({
        appliedIndex: this.appliedIndex,
        appliedTerm: this.appliedTerm,
        revision: this.revision,
        compactRevision: this.compactRevision,
        format: this.format,
      }),
    );
  }

  private async compactHistory(revision: number): Promise<void> {
    await this.db.deleteRange({ gte: HIST, lt: histRow(revision, 0) });
  }

  private dispatch(events: WatchEvent[]): void {
    for (const w of this.watchers) {
      const mine = events.filter(
        (ev) => ev.revision >= w.from && inRange(ev.kv.key, w.start, w.end),
      );
      if (mine.length === 0) continue;
      if (w.buffered) w.buffered.push(...mine);
      else w.listener(mine);
    }
  }
}
