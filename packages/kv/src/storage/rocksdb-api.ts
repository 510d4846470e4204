// The part of the binding's (leveldown-style) API we use. The package's own typings need
// abstract-leveldown's, which it does not depend on.
type Cb<T = void> = (err: Error | null | undefined, value?: T) => void;

export interface RocksIterator {
  next(cb: (err: Error | null | undefined, key?: Buffer, value?: Buffer) => void): void;
  end(cb: Cb): void;
}

/** A batch built in native memory an operation at a time, written in one atomic write. */
export interface RocksChainedBatch {
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
  write(options: { sync?: boolean }, cb: Cb): void;
}

export interface RocksDB {
  open(options: { createIfMissing?: boolean; writeBufferSize?: number }, cb: Cb): void;
  close(cb: Cb): void;
  get(key: Buffer, options: { asBuffer?: boolean }, cb: Cb<Buffer>): void;
  batch(): RocksChainedBatch;
  iterator(options: {
    gte?: Buffer;
    lt?: Buffer;
    limit?: number;
    keyAsBuffer?: boolean;
    valueAsBuffer?: boolean;
  }): RocksIterator;
}
