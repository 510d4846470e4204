// The binding ships no types; this declares the part of its abstract-level API we use.
declare module '@nxtedition/rocksdb' {
  export class RocksLevel<K, V> {
    constructor(location: string, options?: { keyEncoding?: string; valueEncoding?: string });
    open(): Promise<void>;
    close(): Promise<void>;
    get(key: K): Promise<V | undefined>;
    batch(
      ops: ({ type: 'put'; key: K; value: V } | { type: 'del'; key: K })[],
      options?: { sync?: boolean },
    ): Promise<void>;
    iterator(options?: {
      gte?: K;
      lt?: K;
      limit?: number;
      reverse?: boolean;
    }): AsyncIterable<[K, V]>;
  }
}
