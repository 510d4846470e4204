import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BATCH_HEADER_SIZE, writeBatchHeader } from '@strand/wire';

function varint(n: number): number[] {
  let z = BigInt.asUintN(64, (BigInt(n) << 1n) ^ (BigInt(n) >> 63n));
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number((z & 0x7fn) | 0x80n));
    z >>= 7n;
  }
  out.push(Number(z));
  return out;
}

export interface TestRecord {
  timestamp: number;
  value: Buffer;
}

/**
 * A minimal valid, uncompressed RecordBatch v2 (no keys, no headers) for the log tests; the
 * log itself never decodes records, except the timestamp prefix for time lookups.
 */
export function makeBatch(records: TestRecord[], baseOffset = 0): Buffer {
  const baseTimestamp = Math.min(...records.map((r) => r.timestamp));
  const maxTimestamp = Math.max(...records.map((r) => r.timestamp));
  const parts: Buffer[] = records.map((r, i) => {
    const body = Buffer.from([
      0,
      ...varint(r.timestamp - baseTimestamp),
      ...varint(i),
      ...varint(-1),
      ...varint(r.value.length),
    ]);
    const tail = Buffer.from(varint(0));
    const len = body.length + r.value.length + tail.length;
    return Buffer.concat([Buffer.from(varint(len)), body, r.value, tail]);
  });
  const recordsBuf = Buffer.concat(parts);
  const buf = Buffer.alloc(BATCH_HEADER_SIZE + recordsBuf.length);
  recordsBuf.copy(buf, BATCH_HEADER_SIZE);
  writeBatchHeader(
    buf,
    0,
    {
      baseOffset,
      partitionLeaderEpoch: 0,
      attributes: 0,
      lastOffsetDelta: records.length - 1,
      baseTimestamp,
      maxTimestamp,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: records.length,
    },
    recordsBuf.length,
  );
  return buf;
}

/** `count` records of `size` bytes each, all stamped `timestamp` (+i when `spread`). */
export function simpleBatch(
  count: number,
  size: number,
  timestamp: number,
  spread = false,
): Buffer {
  return makeBatch(
    Array.from({ length: count }, (_, i) => ({
      timestamp: timestamp + (spread ? i : 0),
      value: Buffer.alloc(size, (timestamp + i) % 251),
    })),
  );
}

export function tempDir(prefix = 'strand-log-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A settable clock for tests. */
export function manualClock(start = 1_700_000_000_000): {
  now: () => number;
  advance: (ms: number) => void;
  set: (t: number) => void;
} {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (v) => {
      t = v;
    },
  };
}

/**
 * Descriptors this process holds open on files under `dir` whose names end with `suffix`.
 * Counting only those (not every descriptor) keeps a check exact while other work briefly
 * opens files too (checkpoints written in the background, the test runner's own files).
 */
export function openFilesUnder(dir: string, suffix = ''): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir) && target.endsWith(suffix)) n += 1;
    } catch {
      // closed between the listing and the read
    }
  }
  return n;
}
