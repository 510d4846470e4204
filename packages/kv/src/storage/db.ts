import { createRequire } from 'node:module';
import type { DiskGuard } from '@strand/disk';
import { ErrorCode, isNoSpaceError, StorageFullError, StrandError } from '@strand/wire';
import type { RocksDB } from './rocksdb-api.js';

export type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export interface Range {
  gte: Buffer;
  lt: Buffer;
  limit?: number;
}

const BINDING = '@salto-io/rocksdb';
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
 */
export class KvDb {
  /** Operations in flight: closing the native handle under them would crash the process. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly db: RocksDB,
    private readonly space: DiskGuard | undefined,
  ) {}

  private track<T>(p: Promise<T>): Promise<T> {
    if (this.closed)
      return Promise.reject(new StrandError(ErrorCode.LogClosed, 'the database is closed'));
    this.inFlight.add(p);
    p.then(
      () => this.inFlight.delete(p),
      () => this.inFlight.delete(p),
    );
    return p;
  }

  /** Opens (creating) the database; on a full disk its new manifest goes in the guard's reserve. */
  static async open(path: string, space?: DiskGuard): Promise<KvDb> {
    const open = async () => {
      const db = loadBinding()(path);
      await done<void>((cb) => db.open({ createIfMissing: true }, cb));
      return db;
    };
    try {
      return new KvDb(await (space ? space.essential(open) : open()), space);
    } catch (err) {
      const why = `cannot open RocksDB at ${path}: ${(err as Error).message}`;
      throw isNoSpaceError(err)
        ? new StorageFullError(why)
        : new StrandError(ErrorCode.Internal, why);
    }
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    try {
      return await this.track(done<Buffer>((cb) => this.db.get(key, { asBuffer: true }, cb)));
    } catch (err) {
      if (/NotFound/i.test((err as Error).message)) return undefined;
      throw err;
    }
  }

  /**
   * Writes `ops` atomically. On a full disk it does not fail: it waits for room (the guard
   * first gives its reserve back), because nothing above can drop such a write — Raft must
   * persist what it acknowledges, and the state machine has already applied what it writes.
   * Callers that add data are refused before they get here (KvNode.propose).
   */
  async batch(ops: BatchOp[], sync: boolean): Promise<void> {
    if (ops.length === 0) return;
    const write = () => this.track(done<void>((cb) => this.db.batch(ops, { sync }, cb)));
    if (!this.space) return write();
    try {
      return await this.space.essential(write);
    } catch (err) {
      if (!isNoSpaceError(err)) throw err;
    }
    for (;;) {
      await new Promise((r) => setTimeout(r, NO_SPACE_RETRY_MS));
      try {
        return await write();
      } catch (err) {
        if (!isNoSpaceError(err)) throw err;
      }
    }
  }

  entries(range: Range): Promise<[Buffer, Buffer][]> {
    return this.track(this.readRange(range));
  }

  private async readRange(range: Range): Promise<[Buffer, Buffer][]> {
    const it = this.db.iterator({
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

  async deleteRange(range: Range): Promise<void> {
    const keys = (await this.entries(range)).map(([k]) => ({ type: 'del' as const, key: k }));
    await this.batch(keys, false);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    await done<void>((cb) => this.db.close(cb));
  }
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
