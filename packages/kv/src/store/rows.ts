import { type BatchOp, type KvDb, prefixEnd } from '../storage/db.js';
import type { RowOp } from './command.js';
import { KeyIndex } from './key-index.js';

const ROW = Buffer.from('u');
const rowKey = (key: Buffer) => Buffer.concat([ROW, key]);

/**
 * Rows beside the versioned keyspace: a key and its bytes, nothing else: no revision, no
 * history row, no watch event. For data written far more often than anyone watches it (a
 * committed offset per group and partition, many thousand a second), where a versioned put
 * cost a history row and an event to every watcher of its prefix, on every replica. Held in
 * memory and written through to RocksDB in the state machine's batch; in snapshots.
 */
export class UnversionedRows {
  private readonly rows = new Map<string, Buffer>();
  private readonly index = new KeyIndex(this.rows);

  get size(): number {
    return this.rows.size;
  }

  async load(db: KvDb): Promise<void> {
    for (const [k, v] of await db.entries({ gte: ROW, lt: prefixEnd(ROW) }))
      this.set(k.subarray(ROW.length).toString('latin1'), v, undefined);
  }

  /** Applies `ops` in order, adding their writes to `batch`. */
  apply(ops: readonly RowOp[], batch: BatchOp[]): void {
    for (const op of ops) {
      if (op.t === 'put') this.set(op.key.toString('latin1'), op.value, batch);
      else for (const name of this.names(op.key, op.end)) this.delete(name, batch);
    }
  }

  /** The rows in [key, end), in key order (end absent: the row `key` alone). */
  range(key: Buffer, end?: Buffer): { key: Buffer; value: Buffer }[] {
    return this.names(key, end).map((name) => ({
      key: Buffer.from(name, 'latin1'),
      value: this.rows.get(name)!,
    }));
  }

  /**
   * Every row as of now, for a snapshot: serialized (as [key, value] in base64) only when it
   * is, later, since a row's value is replaced, never changed in place.
   */
  capture(): { toJSON(): [string, string][] } {
    const rows = [...this.rows];
    return {
      toJSON: () =>
        rows.map(([name, v]) => [
          Buffer.from(name, 'latin1').toString('base64'),
          v.toString('base64'),
        ]),
    };
  }

  /** Replaces every row with a snapshot's (`capture`), on disk too. */
  async restore(db: KvDb, json: readonly [string, string][], batch: BatchOp[]): Promise<void> {
    await db.deleteRange({ gte: ROW, lt: prefixEnd(ROW) });
    this.rows.clear();
    this.index.clear();
    for (const [k, v] of json)
      this.set(Buffer.from(k, 'base64').toString('latin1'), Buffer.from(v, 'base64'), batch);
  }

  private names(key: Buffer, end: Buffer | undefined): string[] {
    const start = key.toString('latin1');
    if (end === undefined) return this.rows.has(start) ? [start] : [];
    return this.index.range(start, end.toString('latin1'));
  }

  private set(name: string, value: Buffer, batch: BatchOp[] | undefined): void {
    if (!this.rows.has(name)) this.index.add(name);
    this.rows.set(name, value);
    batch?.push({ type: 'put', key: rowKey(Buffer.from(name, 'latin1')), value });
  }

  private delete(name: string, batch: BatchOp[]): void {
    if (!this.rows.delete(name)) return;
    this.index.remove();
    batch.push({ type: 'del', key: rowKey(Buffer.from(name, 'latin1')) });
  }
}
