// The part of the binding's (leveldown-style) API we use. The package's own typings need
// abstract-leveldown's, which it does not depend on.
type Cb<T = void> = (err: Error | null | undefined, value?: T) => void;

export interface RocksIterator {
  next(cb: (err: Error | null | undefined, key?: Buffer, value?: Buffer) => void): void;
  end(cb: Cb): void;
}

export interface RocksDB {
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
  }): RocksIterator;
}
