import { CompressionCodec, decodeBatch, encodeBatch } from '@strand/wire';

const CODECS = {
  none: CompressionCodec.None,
  gzip: CompressionCodec.Gzip,
  snappy: CompressionCodec.Snappy,
  lz4: CompressionCodec.Lz4,
  zstd: CompressionCodec.Zstd,
} as const;

/**
 * Re-encodes a sealed uncompressed batch with a compression codec. @strand/wire does not
 * export its `compress` function, so this goes through decode + encodeBatch: a second pass
 * over the records, paid only by producers that ask for compression.
 */
export function compressBatch(batch: Buffer, codec: keyof typeof CODECS): Buffer {
  const { records } = decodeBatch(batch);
  return encodeBatch(
    records.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: r.timestamp,
    })),
    { compression: CODECS[codec] },
  );
}
