import { gunzipSync, gzipSync } from 'node:zlib';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';
import { CompressionCodec } from '../batch/header.js';
import { CorruptBatchError, UnsupportedCompressionError } from '../errors/errors.js';
import { zstd } from './zstd.js';

/** Decompressed records larger than this are refused (a zip bomb gets a typed error). */
export const DEFAULT_MAX_DECOMPRESSED = 64 * 1024 * 1024;

// Java Kafka frames snappy the way xerial's SnappyOutputStream does: a magic header, then
// blocks of (int32 compressed length, raw snappy block).
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = 16;
const XERIAL_BLOCK = 32 * 1024;

function snappyUncompressedLength(block: Buffer): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!;
    n += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return n;
    scale *= 128;
  }
  throw new CorruptBatchError('bad snappy length prefix');
}

function snappyBlock(block: Buffer, budget: number): Buffer {
  const size = snappyUncompressedLength(block);
  if (size > budget) throw new CorruptBatchError(`snappy block of ${size} bytes exceeds the limit`);
  return snappyUncompress(block) as Buffer;
}

function xerialCompress(data: Buffer): Buffer {
  const parts: Buffer[] = [XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])];
  for (let i = 0; i < data.length; i += XERIAL_BLOCK) {
    const block = snappyCompress(data.subarray(i, i + XERIAL_BLOCK));
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

function snappyDecompress(data: Buffer, max: number): Buffer {
  if (data.length < XERIAL_HEADER || !data.subarray(0, 8).equals(XERIAL_MAGIC)) {
    return snappyBlock(data, max);
  }
  const out: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new CorruptBatchError('truncated xerial snappy block');
    const len = data.readInt32BE(pos);
    pos += 4;
    if (len < 0 || pos + len > data.length) throw new CorruptBatchError('bad xerial block length');
    const block = snappyBlock(data.subarray(pos, pos + len), max - total);
    total += block.length;
    out.push(block);
    pos += len;
  }
  return Buffer.concat(out, total);
}

export function compress(codec: CompressionCodec, data: Buffer): Buffer {
  switch (codec) {
    case CompressionCodec.None:
      return data;
    case CompressionCodec.Gzip:
      return gzipSync(data);
    case CompressionCodec.Snappy:
      return xerialCompress(data);
    case CompressionCodec.Lz4:
      return compressFrameSync(data);
    case CompressionCodec.Zstd:
      return zstd().compress(data);
    default:
      throw new UnsupportedCompressionError(codec);
  }
}

/** Inflates `data`; a result over `max` bytes or bytes the codec rejects are CorruptBatchError. */
export function decompress(
  codec: CompressionCodec,
  data: Buffer,
  max = DEFAULT_MAX_DECOMPRESSED,
): Buffer {
  try {
    let out: Buffer;
    switch (codec) {
      case CompressionCodec.None:
        return data;
      case CompressionCodec.Gzip:
        out = gunzipSync(data, { maxOutputLength: max });
        break;
      case CompressionCodec.Snappy:
        out = snappyDecompress(data, max);
        break;
      case CompressionCodec.Lz4:
        // lz4-napi has no output cap; LZ4 expands at most ~255x, so the input bound (the
        // batch size limit) bounds the allocation, and the check below bounds the result.
        out = decompressFrameSync(data);
        break;
      case CompressionCodec.Zstd:
        out = zstd().decompress(data, max);
        break;
      default:
        throw new UnsupportedCompressionError(codec);
    }
    if (out.length > max) throw new CorruptBatchError(`decompressed size exceeds ${max} bytes`);
    return out;
  } catch (err) {
    if (err instanceof CorruptBatchError || err instanceof UnsupportedCompressionError) throw err;
    throw new CorruptBatchError(`cannot decompress (codec ${codec}): ${(err as Error).message}`);
  }
}
