import type { KeyValue } from '@strand/wire';

/** At most this many keys, or this many bytes of keys and values, between two yields. */
const KEYS_PER_SLICE = 4096;
const BYTES_PER_SLICE = 1 << 20;

/**
 * The state machine's live state at one applied index, captured in one synchronous step and
 * serialized later, a slice of keys at a time. Capturing is cheap and safe because records
 * are never changed in place (a put replaces its key's record): the view holds the records
 * as they were, whatever is applied after it was taken.
 *
 * The bytes are one JSON object: `keys` (the records, each the JSON text `keyJson` gives) and every
 * field of `rest` — what `restore` reads, whichever order the fields come in.
 */
export class SnapshotView {
  constructor(
    private readonly keys: readonly KeyValue[],
    private readonly keyJson: (kv: KeyValue) => string,
    private readonly rest: Record<string, unknown>,
  ) {}

  /** All at once: for small states and tests. */
  serializeNow(): Buffer {
    const rest = JSON.stringify(this.rest);
    const records = this.keys.map((kv) => this.keyJson(kv)).join(',');
    return Buffer.from(`{"keys":[${records}]${rest === '{}' ? '}' : `,${rest.slice(1)}`}`);
  }

  /**
   * The same bytes as `serializeNow`, built between yields (setImmediate) so that a leader
   * building a snapshot of a large store keeps answering and heartbeating meanwhile.
   */
  async serialize(): Promise<Buffer> {
    const parts: Buffer[] = [Buffer.from('{"keys":[')];
    let at = 0;
    while (at < this.keys.length) {
      if (at > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        parts.push(Buffer.from(','));
      }
      const end = this.sliceEnd(at);
      parts.push(
        Buffer.from(
          this.keys
            .slice(at, end)
            .map((kv) => this.keyJson(kv))
            .join(','),
        ),
      );
      at = end;
    }
    const rest = JSON.stringify(this.rest);
    parts.push(Buffer.from(rest === '{}' ? ']}' : `],${rest.slice(1)}`));
    return Buffer.concat(parts);
  }

  /** Where the slice from `at` ends: one key at least, however large. */
  private sliceEnd(at: number): number {
    let end = at;
    let bytes = 0;
    while (end < this.keys.length && end - at < KEYS_PER_SLICE && bytes < BYTES_PER_SLICE) {
      const kv = this.keys[end]!;
      bytes += kv.key.length + kv.value.length;
      end++;
    }
    return end;
  }
}
