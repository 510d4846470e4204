import { RocksLevel } from '@nxtedition/rocksdb';
import { ErrorCode, StrandError } from '@strand/wire';

export type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export interface Range {
  gte: Buffer;
  lt: Buffer;
  limit?: number;
}

/**
 * The one place that knows the RocksDB binding (see README.md for the choice). Keys and values
 * are Buffers; a batch is atomic and, with `sync`, durable when it resolves.
 */
export class KvDb {
  private constructor(private readonly db: RocksLevel<Buffer, Buffer>) {}

  static async open(path: string): Promise<KvDb> {
    const db = new RocksLevel<Buffer, Buffer>(path, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    try {
      await db.open();
    } catch (err) {
      throw new StrandError(
        ErrorCode.Internal,
        `cannot open RocksDB at ${path}: ${(err as Error).message}`,
      );
    }
    return new KvDb(db);
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    try {
      const v = await this.db.get(key);
      return v ?? undefined;
    } catch (err) {
      const e = err as { code?: string; notFound?: boolean };
      if (e.notFound || e.code === 'LEVEL_NOT_FOUND') return undefined;
      throw err;
    }
  }

  async batch(ops: BatchOp[], sync: boolean): Promise<void> {
    if (ops.length === 0) return;
    await this.db.batch(ops, { sync });
  }

  async entries(range: Range): Promise<[Buffer, Buffer][]> {
    const out: [Buffer, Buffer][] = [];
    for await (const [k, v] of this.db.iterator({
      gte: range.gte,
      lt: range.lt,
      limit: range.limit ?? -1,
    })) {
      out.push([k, v]);
    }
    return out;
  }

  async deleteRange(range: Range): Promise<void> {
    const keys = (await this.entries(range)).map(([k]) => ({ type: 'del' as const, key: k }));
    await this.batch(keys, false);
  }

  async close(): Promise<void> {
    await this.db.close();
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
