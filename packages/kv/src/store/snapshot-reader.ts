const KEYS_FIELD = Buffer.from('"keys":[');
const BETWEEN_RECORDS = Buffer.from('},{');
const LAST_RECORD_END = Buffer.from('}]');
/** About this many bytes of records are parsed between two yields. */
const CHUNK_BYTES = 1 << 20;

export class SnapshotFormatError extends Error {
  readonly code = 'SNAPSHOT_FORMAT';
}

/**
 * A snapshot's bytes, read without turning them into one string: a store's can pass V8's
 * largest string (about 512 MiB, some 2.3M keys of 100 B), and parsing all of it at once
 * held the installing node's event loop for seconds.
 *
 * Reads what `SnapshotView` writes and what earlier releases wrote (one JSON.stringify of
 * `{revision, compactRevision, keys, leases, format}`): an object whose `keys` field, after
 * numeric fields only, is an array of flat records whose strings are base64, so that `},{`
 * and `}]` occur in it only between records and at its end.
 */
export class SnapshotReader {
  /** Every field but `keys`. */
  readonly rest: Record<string, unknown>;
  /** Where the records are: from just after `[` to the `]` that closes them. */
  private readonly first: number;
  private readonly close: number;

  constructor(private readonly data: Buffer) {
    const open = data.indexOf(KEYS_FIELD);
    if (open < 0) throw new SnapshotFormatError('a snapshot with no "keys" field');
    this.first = open + KEYS_FIELD.length;
    const end =
      data[this.first] === 0x5d ? this.first - 1 : data.indexOf(LAST_RECORD_END, this.first);
    if (end < 0) throw new SnapshotFormatError('a snapshot whose keys never end');
    this.close = end + 1;
    const rest = JSON.parse(
      `${data.toString('utf8', 0, open)}"keys":[]${data.toString('utf8', this.close + 1)}`,
    ) as Record<string, unknown>;
    delete rest.keys;
    this.rest = rest;
  }

  /** The key records, some thousands at a time, yielding to the event loop between them. */
  async *keys(): AsyncGenerator<unknown[]> {
    let at = this.first;
    while (at < this.close) {
      let end = this.data.indexOf(BETWEEN_RECORDS, Math.min(at + CHUNK_BYTES, this.close));
      end = end < 0 || end >= this.close ? this.close : end + 1;
      yield JSON.parse(`[${this.data.toString('utf8', at, end)}]`) as unknown[];
      at = end + 1; // past the comma
      if (at < this.close) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
