import { decodeEntry, decodeSnapshot, encodeEntry, encodeSnapshot } from '../raft/codec.js';
import type { ConfState, Entry, HardState, Snapshot } from '../raft/types.js';
import { type BatchOp, type KvDb, prefixEnd, u64 } from './db.js';

const HARD = Buffer.from('rh');
const CONF = Buffer.from('rc');
const SNAP = Buffer.from('rs');
const ENTRY = Buffer.from('re');
const entryKey = (index: number) => Buffer.concat([ENTRY, u64(index)]);

export interface RaftPersisted {
  hardState: HardState;
  confState?: ConfState;
  snapshot?: Snapshot;
  entries: Entry[];
}

/**
 * The Raft log, hard state and snapshot in RocksDB. `save` writes one batch, synced when
 * Raft needs it, and entries replace any stale suffix from their first index.
 */
export class RaftLogStore {
  private lastIndex = 0;

  constructor(private readonly db: KvDb) {}

  async load(): Promise<RaftPersisted> {
    const hard = await this.db.get(HARD);
    const conf = await this.db.get(CONF);
    const snap = await this.db.get(SNAP);
    const rows = await this.db.entries({ gte: ENTRY, lt: prefixEnd(ENTRY) });
    const entries = rows.map(([, v]) => decodeEntry(v));
    const snapshot = snap ? decodeSnapshot(snap) : undefined;
    this.lastIndex = entries[entries.length - 1]?.index ?? snapshot?.metadata.index ?? 0;
    return {
      hardState: hard
        ? (JSON.parse(hard.toString()) as HardState)
        : { term: 0, vote: 0, commit: 0 },
      ...(conf ? { confState: JSON.parse(conf.toString()) as ConfState } : {}),
      ...(snapshot ? { snapshot } : {}),
      entries: contiguousAfter(entries, snapshot?.metadata.index ?? 0),
    };
  }

  async save(
    update: {
      hardState?: HardState;
      entries?: Entry[];
      snapshot?: Snapshot;
      confState?: ConfState;
    },
    sync: boolean,
  ): Promise<void> {
    const ops: BatchOp[] = [];
    if (update.snapshot) {
      // The log restarts at the snapshot: every older entry is stale.
      for (let i = update.snapshot.metadata.index; i <= this.lastIndex; i++)
        ops.push({ type: 'del', key: entryKey(i) });
      this.lastIndex = update.snapshot.metadata.index;
      ops.push({ type: 'put', key: SNAP, value: Buffer.from(encodeSnapshot(update.snapshot)) });
      ops.push({
        type: 'put',
        key: CONF,
        value: Buffer.from(JSON.stringify(update.snapshot.metadata.confState)),
      });
    }
    const entries = update.entries ?? [];
    if (entries.length > 0) {
      for (const e of entries)
        ops.push({ type: 'put', key: entryKey(e.index), value: Buffer.from(encodeEntry(e)) });
      const last = entries[entries.length - 1]!.index;
      for (let i = last + 1; i <= this.lastIndex; i++) ops.push({ type: 'del', key: entryKey(i) });
      this.lastIndex = last;
    }
    if (update.confState)
      ops.push({ type: 'put', key: CONF, value: Buffer.from(JSON.stringify(update.confState)) });
    if (update.hardState)
      ops.push({ type: 'put', key: HARD, value: Buffer.from(JSON.stringify(update.hardState)) });
    await this.db.batch(ops, sync);
  }

  /** Removes entries up to `index` (they are covered by a saved snapshot). */
  async compact(index: number): Promise<void> {
    await this.db.deleteRange({ gte: ENTRY, lt: entryKey(index + 1) });
  }
}

/** The run of entries that continues the log right after `index` (a crash may leave others). */
function contiguousAfter(entries: Entry[], index: number): Entry[] {
  const out: Entry[] = [];
  for (const e of entries) {
    if (e.index <= index) continue;
    if (e.index !== index + out.length + 1) break;
    out.push(e);
  }
  return out;
}
