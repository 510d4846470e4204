// The binding ships no types; this declares the part of its (leveldown-style) API we use.
declare module 'rocksdb' {
  type Cb<T = void> = (err: Error | null | undefined, value?: T) => void;
  interface Iterator {
    next(cb: (err: Error | null | undefined, key?: Buffer, value?: Buffer) => void): void;
    end(cb: Cb): void;
  }
  interface RocksDB {
    open(options: { createIfMissing?: boolean }, cb: Cb): void;
    close(cb: Cb): void;
    get(key: Buffer, options: { asBuffer?: boolean }, cb: Cb<Buffer>): void;
    batch(
      ops: ({ type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer })[],
      options: { sync?: boolean },
      cb: Cb,
    ): void;
    iterator(options: {
      gte?: Buffer;
      lt?: Buffer;
      limit?: number;
      keyAsBuffer?: boolean;
      valueAsBuffer?: boolean;
    }): Iterator;
  }
  export default function rocksdb(location: string): RocksDB;
}
