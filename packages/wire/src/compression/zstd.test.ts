import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompressionCodec } from '../batch/header.js';
import { CorruptBatchError } from '../errors/errors.js';
import { decompress } from './codecs.js';
import { builtinZstd, nativeZstd, type ZstdCodec, zstd, zstdFrames } from './zstd.js';

// Both implementations where this Node has both (CI runs Node 20, which has only the fallback,
// and Node 24).
const backends = [nativeZstd(), ...(builtinZstd ? [builtinZstd] : [])];
const each = it.each(backends.map((b) => [b.name, b] as [string, ZstdCodec]));

/** The input of the fixture below: `zstd -3` read it from a pipe, so its frame has no size. */
function records(): Buffer {
  let s = '';
  for (let i = 0; i < 6000; i++)
    s += `${JSON.stringify({ id: i, user: `user-${(i * 7919) % 1000}`, action: ['view', 'click', 'buy'][i % 3], at: 1700000000000 + i * 37 })}\n`;
  return Buffer.from(s);
}
const streamed = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'streamed-no-content-size.zst'),
);

function skippable(payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a53, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

describe('zstd', () => {
  it('uses Node’s own zstd where the runtime has it', () => {
    expect(zstd().name).toBe(builtinZstd ? 'node:zlib' : '@toondepauw/node-zstd');
  });

  each('%s: round-trips anything, and reads what the other implementation wrote', (_, z) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        const data = Buffer.from(bytes);
        for (const other of backends) {
          expect(other.decompress(z.compress(data), data.length)).toEqual(data);
          expect(z.decompress(other.compress(data), data.length)).toEqual(data);
        }
      }),
      { numRuns: 200 },
    );
  });

  each('%s: reads a streamed frame with no content size, across several blocks', (_, z) => {
    const frame = zstdFrames(streamed);
    expect(frame).toHaveLength(1);
    expect(streamed[4]! >> 6).toBe(0);
    expect(streamed[4]! & 0x20).toBe(0);
    const want = records();
    expect(want.length).toBeGreaterThan(2 * 128 * 1024);
    expect(z.decompress(streamed, want.length)).toEqual(want);
    expect(() => z.decompress(streamed, want.length - 1)).toThrow(CorruptBatchError);
  });

  each('%s: reads every frame of a concatenation, skipping skippable frames', (_, z) => {
    const a = z.compress(Buffer.from('first '));
    const b = z.compress(Buffer.from('second'));
    const both = Buffer.concat([
      a,
      skippable(Buffer.from('ignore me')),
      b,
      skippable(Buffer.alloc(0)),
    ]);
    expect(z.decompress(both, 100).toString()).toBe('first second');
    expect(zstdFrames(both).map((f) => [f.start, f.end])).toEqual([
      [0, a.length],
      [a.length + 17, a.length + 17 + b.length],
    ]);
  });

  each('%s: refuses a zip bomb past the limit, and takes it at the limit', (_, z) => {
    const bomb = z.compress(Buffer.alloc(8 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(2000);
    expect(() => z.decompress(bomb, 1024 * 1024)).toThrow(/exceeds 1048576 bytes/);
    expect(z.decompress(bomb, 8 * 1024 * 1024).length).toBe(8 * 1024 * 1024);
    // Two frames, each under the limit, together over it.
    const half = z.compress(Buffer.alloc(600 * 1024, 1));
    expect(() => z.decompress(Buffer.concat([half, half]), 1024 * 1024)).toThrow(CorruptBatchError);
  });

  it('bounds frames by their block headers, whatever their content-size field says', () => {
    // One RLE block regenerating 100,000 bytes in a frame whose header claims 1 byte.
    const lying = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x01, 0, 0, 0, 0x41]);
    lying.writeUIntLE(1 | (1 << 1) | (100_000 << 3), 6, 3);
    expect(zstdFrames(lying)[0]!.maxSize).toBe(100_000);
    expect(() => decompress(CompressionCodec.Zstd, lying, 1000)).toThrow(CorruptBatchError);
  });

  it('refuses a truncated, garbled or empty body with a typed error', () => {
    const good = zstd().compress(records());
    for (const body of [
      good.subarray(0, good.length - 1),
      good.subarray(0, 5),
      Buffer.concat([good, Buffer.from('trailing junk')]),
      Buffer.from('not zstd at all'),
      skippable(Buffer.from('nothing else')),
      Buffer.alloc(0),
    ]) {
      expect(() => decompress(CompressionCodec.Zstd, body)).toThrow(CorruptBatchError);
    }
  });

  it('never throws anything but a typed error on arbitrary bytes, with or without a valid magic', () => {
    const magic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 200 }), (withMagic, bytes) => {
        const body = withMagic ? Buffer.concat([magic, Buffer.from(bytes)]) : Buffer.from(bytes);
        try {
          decompress(CompressionCodec.Zstd, body, 64 * 1024);
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptBatchError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
