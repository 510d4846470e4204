import { decodeRecord, type LogSink, type RecordKind } from '@strand/wire';

/** Noted records beyond this many are counted, not kept (memory stays bounded). */
const MAX_NOTED = 1000;

export interface StoredKv {
  key: Buffer | string;
  value: Uint8Array;
  modRevision: number;
}

export interface MalformedRecord {
  key: string;
  modRevision: number;
  error: string;
}

/**
 * Metadata records that a reader (controller, group coordinator) could not decode. Such a
 * record is skipped, logged once per version, and reported by DescribeCluster (`strand
 * cluster`) until it is rewritten or deleted — it never crashes the process.
 */
export class MalformedRecords {
  private readonly noted = new Map<string, MalformedRecord>();

  constructor(
    private readonly log: LogSink = (fields, msg) => console.error(msg, JSON.stringify(fields)),
  ) {}

  /** The record in `kv`, or undefined (noted) when it is not a good record of `kind`. */
  decode<T>(kind: RecordKind<T>, kv: StoredKv): T | undefined {
    const key = kv.key.toString();
    const r = decodeRecord(kind, kv);
    if (r.ok) {
      this.noted.delete(key);
      return r.record;
    }
    this.note(key, kv.modRevision, r.error);
    return undefined;
  }

  note(key: string, modRevision: number, error: string): void {
    if (this.noted.get(key)?.modRevision === modRevision) return;
    this.log({ key, revision: modRevision, error }, 'skipping a malformed metadata record');
    if (this.noted.size >= MAX_NOTED && !this.noted.has(key)) return;
    this.noted.set(key, { key, modRevision, error });
  }

  /** Records noted that still hold the version noted (`current` gives a key's modRevision). */
  list(current: (key: string) => number | undefined): MalformedRecord[] {
    for (const [key, m] of this.noted) if (current(key) !== m.modRevision) this.noted.delete(key);
    return [...this.noted.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  }
}
