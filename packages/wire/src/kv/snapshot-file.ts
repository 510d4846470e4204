import { createHash, type Hash } from 'node:crypto';
import { z } from 'zod';
import { CorruptSnapshotError } from '../errors/errors.js';

/**
 * A KV backup file (`strand kv snapshot save`): the state machine at one applied index, as
 * the Raft snapshot carries it, framed so a reader can tell a whole file from a truncated,
 * damaged or foreign one.
 *
 *   "STRANDKV"  u32 format version  u32 header length  header (JSON)  body  SHA-256
 *
 * The SHA-256 covers every byte before it. The header says how long the body is, so a file cut
 * anywhere is told apart from a damaged one.
 */
export const SNAPSHOT_FILE_VERSION = 1;

const MAGIC = Buffer.from('STRANDKV');
const PREFIX_BYTES = MAGIC.length + 8;
const DIGEST_BYTES = 32;
const MAX_HEADER_BYTES = 1024 * 1024;

const HeaderSchema = z.object({
  /** The Raft index and term the state machine had applied. */
  index: z.number().int().min(1),
  term: z.number().int().min(0),
  /** The KV revision at that index. */
  revision: z.number().int().min(0),
  bodyBytes: z.number().int().min(0),
  /** Where it came from, for the operator (restore makes a new cluster id). */
  clusterId: z.string(),
  members: z.array(z.object({ id: z.number().int().min(1), address: z.string() })),
  /** Milliseconds since the epoch, when the leader took it. */
  createdAt: z.number().int().min(0),
});
export type SnapshotFileHeader = z.infer<typeof HeaderSchema>;

/** The file's bytes in pieces of at most `chunkBytes` (the body is never copied whole). */
export function* snapshotFileChunks(
  header: Omit<SnapshotFileHeader, 'bodyBytes'>,
  body: Uint8Array,
  chunkBytes = 1024 * 1024,
): Generator<Buffer> {
  const json = Buffer.from(JSON.stringify({ ...header, bodyBytes: body.length }));
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(prefix);
  prefix.writeUInt32BE(SNAPSHOT_FILE_VERSION, MAGIC.length);
  prefix.writeUInt32BE(json.length, MAGIC.length + 4);
  const hash = createHash('sha256');
  const out = (b: Buffer) => {
    hash.update(b);
    return b;
  };
  yield out(Buffer.concat([prefix, json]));
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  for (let at = 0; at < bytes.length; at += chunkBytes)
    yield out(bytes.subarray(at, Math.min(bytes.length, at + chunkBytes)));
  yield hash.digest();
}

/**
 * Checks a snapshot file as it streams by: push its pieces in order, then `end()` returns the
 * header (and the body, when kept) or throws CorruptSnapshotError saying what is wrong. The
 * last 32 bytes seen are held back: they are the digest, not data.
 */
export class SnapshotFileReader {
  private readonly hash: Hash = createHash('sha256');
  private head = Buffer.alloc(0);
  private header: SnapshotFileHeader | undefined;
  private readonly body: Buffer[] = [];
  private tail = Buffer.alloc(0);
  private total = 0;

  constructor(private readonly opts: { keepBody: boolean }) {}

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    const all = Buffer.concat([this.tail, chunk]);
    const keep = Math.min(DIGEST_BYTES, all.length);
    this.tail = all.subarray(all.length - keep);
    this.take(all.subarray(0, all.length - keep));
  }

  end(): { header: SnapshotFileHeader; body: Buffer; fileBytes: number } {
    const header = this.header;
    if (!header) {
      if (this.total < PREFIX_BYTES + DIGEST_BYTES && this.head.length < PREFIX_BYTES)
        throw new CorruptSnapshotError(
          `not a whole Strand KV snapshot: ${this.total} bytes, too short for one`,
        );
      throw new CorruptSnapshotError(
        'truncated or damaged Strand KV snapshot: it ends inside its header',
      );
    }
    const expected = this.headerBytes() + header.bodyBytes + DIGEST_BYTES;
    if (this.total !== expected)
      throw new CorruptSnapshotError(
        `truncated or padded Strand KV snapshot: ${this.total} bytes where its header says ${expected}`,
      );
    if (!this.hash.digest().equals(this.tail))
      throw new CorruptSnapshotError(
        'damaged Strand KV snapshot: its SHA-256 does not match its contents',
      );
    return { header, body: Buffer.concat(this.body), fileBytes: this.total };
  }

  private headerBytes(): number {
    return PREFIX_BYTES + this.head.readUInt32BE(MAGIC.length + 4);
  }

  private take(data: Buffer): void {
    if (data.length === 0) return;
    this.hash.update(data);
    if (this.header) {
      if (this.opts.keepBody) this.body.push(Buffer.from(data));
      return;
    }
    this.head = Buffer.concat([this.head, data]);
    if (this.head.length < PREFIX_BYTES) return;
    this.checkPrefix();
    const size = this.headerBytes();
    if (this.head.length < size) return;
    this.header = parseHeader(this.head.subarray(PREFIX_BYTES, size));
    const rest = this.head.subarray(size);
    if (this.opts.keepBody && rest.length > 0) this.body.push(Buffer.from(rest));
  }

  private checkPrefix(): void {
    if (!this.head.subarray(0, MAGIC.length).equals(MAGIC))
      throw new CorruptSnapshotError('not a Strand KV snapshot (no STRANDKV mark at its start)');
    const version = this.head.readUInt32BE(MAGIC.length);
    if (version !== SNAPSHOT_FILE_VERSION)
      throw new CorruptSnapshotError(
        version > SNAPSHOT_FILE_VERSION
          ? `Strand KV snapshot format ${version} is newer than this release reads (${SNAPSHOT_FILE_VERSION}): use the release that wrote it, or a newer one`
          : `unknown Strand KV snapshot format ${version}`,
      );
    const length = this.head.readUInt32BE(MAGIC.length + 4);
    if (length === 0 || length > MAX_HEADER_BYTES)
      throw new CorruptSnapshotError(`damaged Strand KV snapshot: a header of ${length} bytes`);
  }
}

function parseHeader(bytes: Buffer): SnapshotFileHeader {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new CorruptSnapshotError('damaged Strand KV snapshot: its header is not JSON');
  }
  const parsed = HeaderSchema.safeParse(json);
  if (!parsed.success)
    throw new CorruptSnapshotError(
      `damaged Strand KV snapshot: its header is not one Strand writes (${parsed.error.issues[0]?.message})`,
    );
  return parsed.data;
}

/** A whole file in memory: its header and body, checked. */
export function readSnapshotFile(bytes: Uint8Array): { header: SnapshotFileHeader; body: Buffer } {
  const reader = new SnapshotFileReader({ keepBody: true });
  reader.push(bytes);
  return reader.end();
}
