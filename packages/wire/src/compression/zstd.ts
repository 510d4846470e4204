import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { CorruptBatchError } from '../errors/errors.js';

/** Kafka's default zstd level (and libzstd's). */
const LEVEL = 3;
const MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE = 0x184d2a50;
const BLOCK_MAX = 128 * 1024;

export interface ZstdCodec {
  readonly name: string;
  compress(data: Buffer): Buffer;
  /** Every frame of `data`, concatenated; more than `max` bytes is a CorruptBatchError. */
  decompress(data: Buffer, max: number): Buffer;
}

export interface ZstdFrame {
  start: number;
  end: number;
  /** The most its blocks can inflate to, read from their headers alone. */
  maxSize: number;
}

const truncated = () => new CorruptBatchError('truncated zstd frame');
const tooBig = (max: number) => new CorruptBatchError(`decompressed size exceeds ${max} bytes`);

/**
 * The zstd frames of `data` (skippable frames left out), found by reading the frame and block
 * headers only (RFC 8878): where each frame ends and an upper bound of its content, which a
 * frame's own content-size field (absent in Java clients' frames) cannot be trusted to give.
 */
export function zstdFrames(data: Buffer): ZstdFrame[] {
  const frames: ZstdFrame[] = [];
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > data.length) throw truncated();
  };
  while (pos < data.length) {
    need(4);
    const magic = data.readUInt32LE(pos);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE) {
      need(8);
      pos += 8 + data.readUInt32LE(pos + 4);
      need(0);
      continue;
    }
    if (magic !== MAGIC) throw new CorruptBatchError('not a zstd frame');
    const start = pos;
    pos += 4;
    need(1);
    const descriptor = data[pos++]!;
    if (descriptor & 0x08)
      throw new CorruptBatchError('zstd frame header has its reserved bit set');
    const singleSegment = (descriptor & 0x20) !== 0;
    const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
    const sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6]!;
    let window = 0;
    if (!singleSegment) {
      need(1);
      const w = data[pos++]!;
      const base = 2 ** (10 + (w >> 3));
      window = base + (base / 8) * (w & 7);
    }
    need(dictionaryBytes + sizeBytes);
    pos += dictionaryBytes;
    if (singleSegment) {
      window = data.readUIntLE(pos, Math.min(sizeBytes, 6)) + (sizeBytes === 2 ? 256 : 0);
      if (sizeBytes === 8) window += data.readUInt16LE(pos + 6) * 2 ** 48;
    }
    pos += sizeBytes;
    const blockMax = Math.min(window, BLOCK_MAX);
    let maxSize = 0;
    for (let last = false; !last; ) {
      need(3);
      const header = data.readUIntLE(pos, 3);
      pos += 3;
      last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw new CorruptBatchError('zstd block of the reserved type');
      // Raw: `size` bytes as they are; RLE: one byte repeated `size` times; compressed: `size`
      // bytes that inflate to at most a block.
      maxSize += type === 2 ? blockMax : size;
      pos += type === 1 ? 1 : size;
      need(0);
    }
    if (descriptor & 0x04) pos += 4;
    need(0);
    frames.push({ start, end: pos, maxSize });
  }
  if (frames.length === 0) throw truncated();
  return frames;
}

type NodeZstd = {
  zstdCompressSync(data: Buffer, opts: { params: Record<number, number> }): Buffer;
  zstdDecompressSync(data: Buffer, opts: { maxOutputLength: number }): Buffer;
  constants: Record<string, number>;
};

/**
 * Node's own zstd (Node ≥ 22.15 and ≥ 23.8). It stops after the first frame, so each frame is
 * inflated on its own, capped by what is left of `max`.
 */
function builtin(z: NodeZstd): ZstdCodec {
  const params = { [z.constants.ZSTD_c_compressionLevel!]: LEVEL };
  return {
    name: 'node:zlib',
    compress: (data) => z.zstdCompressSync(data, { params }),
    decompress(data, max) {
      const out: Buffer[] = [];
      let total = 0;
      for (const f of zstdFrames(data)) {
        let part: Buffer;
        try {
          part = z.zstdDecompressSync(data.subarray(f.start, f.end), {
            maxOutputLength: Math.max(1, max - total),
          });
        } catch (err) {
          if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooBig(max);
          throw err;
        }
        total += part.length;
        if (total > max) throw tooBig(max);
        out.push(part);
      }
      return Buffer.concat(out, total);
    },
  };
}

interface NativeZstd {
  Encoder: new (level: number) => { encodeSync(data: Buffer): Buffer };
  Decoder: new () => { decodeSync(data: Buffer): Buffer };
}

/**
 * Older Node: @toondepauw/node-zstd (libzstd, prebuilt per platform in the npm registry). Its
 * decoder has no output limit, so the block headers must bound the frames first; the slack of
 * one block lets a frame's last, partial block through.
 */
function native(): ZstdCodec {
  const { Encoder, Decoder } = createRequire(import.meta.url)(
    '@toondepauw/node-zstd',
  ) as NativeZstd;
  const encoder = new Encoder(LEVEL);
  const decoder = new Decoder();
  return {
    name: '@toondepauw/node-zstd',
    compress: (data) => encoder.encodeSync(data),
    decompress(data, max) {
      const bound = zstdFrames(data).reduce((sum, f) => sum + f.maxSize, 0);
      if (bound > max + BLOCK_MAX) throw tooBig(max);
      const out = decoder.decodeSync(data);
      if (out.length > max) throw tooBig(max);
      return out;
    },
  };
}

const nodeZstd = zlib as unknown as Partial<NodeZstd>;
/** Node's zstd where this runtime has it, else undefined. */
export const builtinZstd: ZstdCodec | undefined =
  typeof nodeZstd.zstdCompressSync === 'function' ? builtin(nodeZstd as NodeZstd) : undefined;

let fallback: ZstdCodec | undefined;
/** The native fallback, loaded on first use. */
export function nativeZstd(): ZstdCodec {
  fallback ??= native();
  return fallback;
}

/** The codec this process uses. */
export function zstd(): ZstdCodec {
  return builtinZstd ?? nativeZstd();
}
