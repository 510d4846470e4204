import { createRequire } from 'node:module';
import type { DiskGuard } from '@strand/disk';
import { ErrorCode, isNoSpaceError, StorageFullError, StrandError } from '@strand/wire';
import type { RocksDB } from './rocksdb-api.js';

type Cb = (err: Error | null | undefined) => void;

export type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export interface Range {
  gte: Buffer;
  lt: Buffer;
  limit?: number;
}

const BINDING = '@salto-io/rocksdb';
/**
 * RocksDB's memtable size (its own default; the binding's is 4 MiB). Each memtable flushed
 * starts a compaction into level 1 that rewrites every level-1 file its keys overlap, and key
 * rows of random keys overlap all of them: with 4 MiB memtables and a million keys, RocksDB's
 * background threads spent 70 µs per put of the leader's CPU (5.8 with 10,000 keys) and puts/s
 * fell by half. At 64 MiB: 2.7 µs, and puts/s 14% below the 10,000-key rate. It costs up to two
 * memtables of memory, and up to one of WAL replayed at start-up.
 */
const WRITE_BUFFER_BYTES = 64 << 20;
/** How often a write waiting for disk space tries again. */
const NO_SPACE_RETRY_MS = 200;
let binding: ((location: string) => RocksDB) | undefined;

/**
 * Loaded on first open, not at import: a platform without a prebuilt binary gets an error that
 * says so when a database is opened, instead of breaking every import of this package.
 */
function loadBinding(): (location: string) => RocksDB {
  if (binding) return binding;
  try {
    binding = createRequire(import.meta.url)(BINDING) as (location: string) => RocksDB;
    return binding;
  } catch (err) {
    throw new StrandError(
      ErrorCode.Internal,
      `cannot load the RocksDB binding ${BINDING} on ${process.platform}-${process.arch} ` +
        `(Node ${process.version}): ${(err as Error).message}`,
    );
  }
}

function done<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    fn((err, value) => (err ? reject(err) : resolve(value as T))),
  );
}

/**
 * The one place that knows the RocksDB binding (see README.md for the choice). Keys and values
 * are Buffers; a batch is atomic and, with `sync`, durable when it resolves. Every call runs
 * on libuv's thread pool, so an fsync never blocks the event loop.
 *
 * Writes go one at a time, and one that fails for lack of space is followed by a new handle
 * before anything else is written: RocksDB (this build, without paranoid checks) goes on
 * appending to a WAL whose last record a failed write left torn, and at the next open its
 * point-in-time recovery stops at the tear — every write acknowledged after it, synced or not,
 * would be gone. A new handle replays the WAL up to the tear (nothing acknowledged is past it)
 * and writes a new one.
 */
export class KvDb {
  /** Operations in flight: closing the native handle under them would crash the process. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;
  /** The last write queued: the next one starts once it has settled. */
  private lastWrite: Promise<unknown> = Promise.resolve();
  /** While the handle is replaced, every operation waits for the new one. */
  private reopening: Promise<void> | undefined;

  private constructor(
    /** Undefined only after a reopen found no room before close(). */
    private db: RocksDB | undefined,
    private readonly path: string,
    private readonly space: DiskGuard | undefined,
  ) {}

  /** Runs `op` on the current handle, once no new one is being opened. */
  private async track<T>(op: (db: RocksDB) => Promise<T>): Promise<T> {
    while (this.reopening) await this.reopening;
    if (this.closed || !this.db)
      throw new StrandError(ErrorCode.LogClosed, 'the database is closed');
    const p = op(this.db);
    this.inFlight.add(p);
    p.then(
      () => this.inFlight.delete(p),
      () => this.inFlight.delete(p),
    );
    return p;
  }

  /** Opens (creating) the database; on a full disk its new manifest goes in the guard's reserve. */
  static async open(path: string, space?: DiskGuard): Promise<KvDb> {
    return new KvDb(await KvDb.openHandle(path, space), path, space);
  }

  private static async openHandle(path: string, space: DiskGuard | undefined): Promise<RocksDB> {
    const open = async () => {
      const db = loadBinding()(path);
      await done<void>((cb) =>
        db.open({ createIfMissing: true, writeBufferSize: WRITE_BUFFER_BYTES }, cb),
      );
      return db;
    };
    try {
      return await (space ? space.essential(open) : open());
    } catch (err) {
      const why = `cannot open RocksDB at ${path}: ${(err as Error).message}`;
      throw isNoSpaceError(err)
        ? new StorageFullError(why)
        : new StrandError(ErrorCode.Internal, why);
    }
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    try {
      return await this.track((db) => done<Buffer>((cb) => db.get(key, { asBuffer: true }, cb)));
    } catch (err) {
      if (/NotFound/i.test((err as Error).message)) return undefined;
      throw err;
    }
  }

  /**
   * Writes `ops` atomically, after every write called before. On a full disk (with a guard) it
   * does not fail: it waits for room (the guard first gives its reserve back), because nothing
   * above can drop such a write — Raft must persist what it acknowledges, and the state machine
   * has already applied what it writes. Callers that add data are refused before they get here
   * (KvNode.propose).
   */
  batch(ops: BatchOp[], sync: boolean): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    const write = this.lastWrite.then(() => this.write(ops, sync));
    this.lastWrite = write.catch(() => undefined);
    return write;
  }

  private async write(ops: BatchOp[], sync: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, NO_SPACE_RETRY_MS));
      try {
        return await this.track((db) => done<void>((cb) => writeBatch(db, ops, sync, cb)));
      } catch (err) {
        if (!this.space || !isNoSpaceError(err)) throw err;
        this.space.noticed(err);
        // Written again on a new handle: the same ops, so whether the torn one was replayed
        // or dropped, the result is the same.
        await this.reopen();
      }
    }
  }

  /** Replaces the handle (see the class comment), waiting for room to open it if need be. */
  private reopen(): Promise<void> {
    this.reopening ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      const old = this.db;
      this.db = undefined;
      // What it failed to close it no longer writes to: the new handle replays what it left.
      if (old) await done<void>((cb) => old.close(cb)).catch(() => undefined);
      while (!this.closed) {
        try {
          this.db = await KvDb.openHandle(this.path, this.space);
          return;
        } catch (err) {
          if (!isNoSpaceError(err)) throw err;
          await new Promise((r) => setTimeout(r, NO_SPACE_RETRY_MS));
        }
      }
    })().finally(() => {
      this.reopening = undefined;
    });
    return this.reopening;
  }

  entries(range: Range): Promise<[Buffer, Buffer][]> {
    return this.track((db) => readRange(db, range));
  }

  async deleteRange(range: Range): Promise<void> {
    const keys = (await this.entries(range)).map(([k]) => ({ type: 'del' as const, key: k }));
    await this.batch(keys, false);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.reopening) await this.reopening.catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    const db = this.db;
    this.db = undefined;
    if (db) await done<void>((cb) => db.close(cb));
  }
}

/**
 * Through the binding's chained batch: one native call per operation. Given an array, the
 * binding looks up some ten properties of each operation by name from C++, which took about
 * as long as writing the batch to RocksDB did (a state machine applying puts, a key and a
 * history row each: 23 µs of CPU per put that way, 19.5 this way).
 */
function writeBatch(db: RocksDB, ops: readonly BatchOp[], sync: boolean, cb: Cb): void {
  const batch = db.batch();
  for (const op of ops) {
    if (op.type === 'put') batch.put(op.key, op.value);
    else batch.del(op.key);
  }
  batch.write({ sync }, cb);
}

async function readRange(db: RocksDB, range: Range): Promise<[Buffer, Buffer][]> {
  const it = db.iterator({
    gte: range.gte,
    lt: range.lt,
    limit: range.limit ?? -1,
    keyAsBuffer: true,
    valueAsBuffer: true,
  });
  const out: [Buffer, Buffer][] = [];
  try {
    for (;;) {
      const [k, v] = await new Promise<[Buffer | undefined, Buffer | undefined]>(
        (resolve, reject) =>
          it.next((err, key, value) =>
            err ? reject(err) : resolve([key as Buffer | undefined, value as Buffer | undefined]),
          ),
      );
      if (k === undefined) break;
      out.push([k, v!]);
    }
  } finally {
    await done<void>((cb) => it.end(cb));
  }
  return out;
}

/** Key helpers: a one-letter table prefix, then big-endian numbers so order follows value. */
export function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
}
